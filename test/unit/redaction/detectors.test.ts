import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectedEntity } from '../../../src/domain/pii.js';
import { findAddresses } from '../../../src/adapters/redaction/detectors/address.js';
import { findCreditCards } from '../../../src/adapters/redaction/detectors/credit-card.js';
import { findEmails } from '../../../src/adapters/redaction/detectors/email.js';
import { findIbans } from '../../../src/adapters/redaction/detectors/iban.js';
import { findIpAddresses } from '../../../src/adapters/redaction/detectors/ip-address.js';
import { findPersons } from '../../../src/adapters/redaction/detectors/person.js';
import { STRONG_CUE, STRONG_CUE_WORD } from '../../../src/adapters/redaction/detectors/person/cues.js';
import { findPhones } from '../../../src/adapters/redaction/detectors/phone.js';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { findSecrets } from '../../../src/adapters/redaction/detectors/secret.js';
import { findSsns } from '../../../src/adapters/redaction/detectors/ssn.js';

type Find = (text: string) => DetectedEntity[];

const values = (find: Find, text: string): string[] => find(text).map((e) => text.slice(e.start, e.end));

function finds(find: Find, text: string, expected: string): void {
  assert.ok(values(find, text).includes(expected), `expected "${expected}" in ${JSON.stringify(values(find, text))} for "${text}"`);
}

function findsNothing(find: Find, text: string): void {
  assert.deepEqual(values(find, text), [], text);
}

describe('email detector', () => {
  it('finds plain, tagged and internationalised addresses', () => {
    finds(findEmails, 'write to a.b+c@mail.example.com.', 'a.b+c@mail.example.com');
    finds(findEmails, 'zoë@exämple.de', 'zoë@exämple.de');
  });
  it('ignores handles and addresses without a domain suffix', () => {
    findsNothing(findEmails, 'ping @maria or user@localhost');
  });
});

describe('phone detector', () => {
  it('finds US and international formats', () => {
    for (const phone of ['(555) 123-4567', '555.123.4567', '+1-555-123-4567', '+44 20 7946 0958', '+49 30 123456']) {
      finds(findPhones, `reach me at ${phone} today`, phone);
    }
  });
  it('finds local formats next to a phone word, with extensions', () => {
    finds(findPhones, 'call 0477 11 28 98', '0477 11 28 98');
    finds(findPhones, '877-547-3967x793 fax', '877-547-3967x793');
  });
  it('ignores dates, times and numbers without a phone word', () => {
    findsNothing(findPhones, 'On 2024-03-15 at 14:30:45 we sold 1234 5678 units');
  });
  it('looks for numbers only in a text of six digits or more: no shorter number is valid', () => {
    const validShort: string[] = [];
    for (let length = 1; length <= 5; length += 1) {
      for (let value = 0; value < 10 ** length; value += 1) {
        const digits = String(value).padStart(length, '0');
        if (isValidPhoneNumber(`+${digits}`) || isValidPhoneNumber(digits, 'US')) validShort.push(digits);
      }
    }
    assert.deepEqual(validShort, []);
    finds(findPhones, 'reach me at +43 1110 today', '+43 1110');
    finds(findPhones, 'mobile: 123 456', '123 456');
    findsNothing(findPhones, 'mobile: 123 45');
  });
});

describe('credit card detector', () => {
  it('finds Luhn-valid numbers plain, spaced and dashed', () => {
    finds(findCreditCards, 'card 4111111111111111', '4111111111111111');
    finds(findCreditCards, 'card 5500 0000 0000 0004 exp', '5500 0000 0000 0004');
    finds(findCreditCards, 'amex 3782-822463-10005', '3782-822463-10005');
  });
  it('rejects numbers that fail Luhn, repeat one digit, or start with an unissued digit', () => {
    findsNothing(findCreditCards, '4111 1111 1111 1112 and 0000 0000 0000 0000 and 9111111111111111');
  });
});

describe('ssn detector', () => {
  it('finds the dashed form alone and other forms after a context word', () => {
    finds(findSsns, 'id 123-45-6789', '123-45-6789');
    finds(findSsns, 'my SSN: 123456789', '123456789');
  });
  it('rejects numbers never issued and bare nine digits', () => {
    findsNothing(findSsns, '000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000 and 123456789');
  });
});

describe('iban detector', () => {
  it('finds compact, grouped and lowercase IBANs', () => {
    finds(findIbans, 'IBAN GB82WEST12345698765432.', 'GB82WEST12345698765432');
    finds(findIbans, 'to DE89 3704 0044 0532 0130 00 now', 'DE89 3704 0044 0532 0130 00');
    finds(findIbans, 'gb82west12345698765432', 'gb82west12345698765432');
  });
  it('rejects a wrong check digit or a wrong length', () => {
    findsNothing(findIbans, 'GB83WEST12345698765432 and GB82WEST1234569876543');
  });
});

describe('ip address detector', () => {
  it('finds IPv4 and IPv6', () => {
    finds(findIpAddresses, 'from 10.0.0.255:8080', '10.0.0.255');
    finds(findIpAddresses, 'host fe80::1ff:fe23:4567:890a up', 'fe80::1ff:fe23:4567:890a');
  });
  it('rejects out-of-range octets, versions and times', () => {
    findsNothing(findIpAddresses, '256.1.1.1, version 1.2.3.4, v2.0.0.1, 1.2.3.4.5 at 12:30:45');
  });
});

describe('secret detector', () => {
  it('finds well-known key formats, JWTs and private key blocks', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    finds(findSecrets, `Authorization: Bearer ${jwt}`, jwt);
    finds(findSecrets, 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    finds(findSecrets, 'slack xoxb-1234-5678-abcdefghij', 'xoxb-1234-5678-abcdefghij');
    finds(findSecrets, 'key AIzaSyA1234567890abcdefghijklmnopqrstu', 'AIzaSyA1234567890abcdefghijklmnopqrstu');
    finds(findSecrets, 'stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc');
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----';
    finds(findSecrets, `here:\n${pem}\nthanks`, pem);
  });
  it('finds random tokens after a key word and passwords after "password is"', () => {
    finds(findSecrets, 'the secret = Zx9Qw2Er7Ty4Ui1Op3As', 'Zx9Qw2Er7Ty4Ui1Op3As');
    finds(findSecrets, 'my password is Tr0ub4dor&3', 'Tr0ub4dor&3');
  });
  it('finds the values of credentials named in code and configuration, where words have no boundary', () => {
    const token = 'Zx8kQ2mP9vL4nR7tY1wE5uI3oA6sD0fG';
    finds(findSecrets, 'export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    finds(findSecrets, `GITHUB_TOKEN=${token}`, token);
    finds(findSecrets, `const accessToken = "${token}";`, token);
    finds(findSecrets, `{"clientSecret": "${token}"}`, token);
    finds(findSecrets, 'DB_PASSWORD=S3cr3tPass!x', 'S3cr3tPass!x');
    finds(findSecrets, 'smtp-pass: aB3$dE6*.', 'aB3$dE6*');
  });
  it('ignores values of other names, and plain words for a password', () => {
    const token = 'Zx8kQ2mP9vL4nR7tY1wE5uI3oA6sD0fG';
    findsNothing(findSecrets, `keyboard=${token} monkey=${token} session_id=${token}`);
    findsNothing(findSecrets, 'user_password: hunter, DB_PASS=correct, timeout=30s');
  });
  it('ignores ordinary words after key words', () => {
    findsNothing(findSecrets, 'the key is under the doormat, the password is incorrect');
  });
});

describe('person detector', () => {
  it('finds known names, honorifics and cued names', () => {
    finds(findPersons, 'Yesterday Kelsey Bustos called', 'Kelsey Bustos');
    finds(findPersons, 'I met Mr. Grimes', 'Mr. Grimes');
    finds(findPersons, 'my name is zanele okafor', 'zanele okafor');
    finds(findPersons, 'Kalman: "Who are you?"', 'Kalman');
  });
  it('finds names after every kind of strong cue, each holding a word the quick check looks for', () => {
    const cues = ['my name is', 'Her name is', "his name's", 'Name :', 'named her', 'called', 'call me', 'Calls me', 'under my maiden name', 'signed,', 'Sincerely,', 'Regards', 'What is your name?\nUser:'];
    for (const cue of cues) {
      assert.ok(STRONG_CUE.test(cue), cue);
      assert.ok(STRONG_CUE_WORD.test(cue), cue);
      finds(findPersons, `${cue} zanele okafor`, 'zanele okafor');
    }
    findsNothing(findPersons, 'we had zanele okafor for dinner');
    // Folded as the cues are: the long s is an s.
    assert.ok(STRONG_CUE.test('ſigned') && STRONG_CUE_WORD.test('ſigned'));
  });
  it('ignores ordinary capitalised words, places and organisations', () => {
    findsNothing(findPersons, 'Monday was busy. Hope you like Paris. I work at Cantrell Ltd.');
  });
  it('lets every member of a list of names vouch for the others', () => {
    for (const name of ['Lars', 'Ingrid', 'Bjørn']) finds(findPersons, 'We invited Lars, Ingrid and Bjørn to the party', name);
    for (const name of ['Malon', 'Kaylee']) finds(findPersons, 'They had three: Malon, Mark and Kaylee.', name);
  });
  it('finds unknown names after verbs and prepositions that take a person', () => {
    finds(findPersons, 'Scott had given Ömür his keys', 'Ömür');
    finds(findPersons, 'The film starring Mikolčić opens today', 'Mikolčić');
    finds(findPersons, '"We all agree," says Vedzizhev.', 'Vedzizhev');
    finds(findPersons, 'Lasse shouted at Sara', 'Lasse');
  });
  it('finds possessives, particles, hyphens, initials and names in capitals', () => {
    finds(findPersons, "As promised, here's Gregorina's address", 'Gregorina');
    finds(findPersons, 'I spoke to Pieter van der Berg this morning', 'Pieter van der Berg');
    finds(findPersons, 'Meeting with Jean-Luc Picard moved to 3pm', 'Jean-Luc Picard');
    finds(findPersons, 'Ask J. Smith about the invoice', 'J. Smith');
    finds(findPersons, 'ANNA KOWALSKA signed the lease', 'ANNA KOWALSKA');
  });
  it('finds names in text written all in lower case', () => {
    finds(findPersons, 'follow up with tracy wiśniewska in 2 months', 'tracy wiśniewska');
    finds(findPersons, 'they had 6: natalina, thomas, crystal, omar, zachary and brandy.', 'natalina');
    finds(findPersons, 'she named him joshua', 'joshua');
  });
  it('finds the name someone is addressed by', () => {
    finds(findPersons, 'Vittore, can I please speak to your boss?', 'Vittore');
    finds(findPersons, 'Hi Fábio, I am writing about the flat', 'Fábio');
  });
  it('leaves function words, interjections and titles that hold a name alone', () => {
    findsNothing(findPersons, "i'm so jealous! Cool, what's the address?");
    assert.deepEqual(values(findPersons, 'I Love Lucy is on tonight'), ['Lucy']);
  });
  it('ignores streets, places and firms built from names', () => {
    findsNothing(findPersons, 'Meet me on Sinko Street near Victoria Park');
    findsNothing(findPersons, 'She moved here from Costa Rica, then from Chicago to Austin');
    findsNothing(findPersons, 'The Jones, Mitchell and Williams office is at 87 Elm Road');
    findsNothing(findPersons, 'Davis, Reynolds and Williamson is a start-up; Kroll Bond Ratings Agency rated it');
    findsNothing(findPersons, 'Celebrating its 10th year in Quincy, the fund is based in San Luis');
    findsNothing(findPersons, 'Spotify said my subscription expired');
  });
  it('ends a name before an apartment number', () => {
    assert.deepEqual(values(findPersons, 'Mrs. Diana Weöres Apt. 434'), ['Mrs. Diana Weöres']);
  });
});

describe('address detector', () => {
  it('finds US, European and box addresses with their city and postal code', () => {
    finds(findAddresses, 'at 1600 Pennsylvania Avenue NW, Washington, DC 20500', '1600 Pennsylvania Avenue NW, Washington, DC 20500');
    finds(findAddresses, 'Gumpendorfer Strasse 44, 1060 Wien', 'Gumpendorfer Strasse 44, 1060 Wien');
    finds(findAddresses, 'ul. Lubartowska 42', 'ul. Lubartowska 42');
    finds(findAddresses, 'PSC 7004, Box 8380\nAPO AP 11949', 'PSC 7004, Box 8380\nAPO AP 11949');
  });
  it('ignores counts, chapters and distances', () => {
    findsNothing(findAddresses, 'I have 2 dogs, read chapter 11 and walked 5 blocks that way');
  });
});
