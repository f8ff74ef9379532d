/**
 * The words around a run of capitalised words that say whether it names a person, a place, an
 * organisation or a street. Each pattern is tested against a short slice of text that ends right
 * before the run (`…$`) or starts right after it (`^…`), on the same line.
 */

/** After these the next words are a name whatever their case: "my name is zanele okafor". */
export const STRONG_CUE =
  /(?:\bmy name is|\bname is|\bname's|\bname\s*:|\bnamed(?: (?:him|her|them|it))?|\bcalled|\bcalls? me|\bunder (?:the |my |his |her |our |their )?(?:\S+ )?name|\bsigned,?|\bsincerely,?|\bregards,?|\bname\b[^?\n]{0,30}\?["”]?(?:[^\S\n]*\n?[^\S\n]*\p{L}+:)?)[^\S\n]*$/iu;

/**
 * A word that every strong cue holds, with the same case folding: a text with none of them has no
 * strong cue anywhere, so its words need not each be tested against STRONG_CUE.
 */
export const STRONG_CUE_WORD = /name|call|signed|sincerely|regards/iu;

/** After these a capitalised word is a name even when no list knows it: "my sister Clara". */
export const WEAK_CUE =
  /(?:\bi am|\bi'm|\bi’m|\bthis is|\bdear|\bhi|\bhello|\bhey|\bthanks,?|\bthank you,?|\bmeet|\bask for|\bspeak to|\btalk to|\b(?:my|our|your|his|her|their) (?:wife|husband|son|daughter|sister|brother|mother|father|mom|mum|dad|friend|best friend|boss|colleague|partner|girlfriend|boyfriend|neighbou?r|cousin|aunt|uncle|grandma|grandpa|grandmother|grandfather|grandson|granddaughter|niece|nephew|fianc[eé]e?|coworker|manager|teacher|doctor|dentist|therapist|roommate|flatmate|landlord|child|kid|baby|stepson|stepdaughter|stepmother|stepfather|dog|cat)|\b(?:grandma|grandpa|granny|nana|auntie|aunt|uncle|cousin|sister|brother|baby|little|big|old|young|poor|dear|sweet))[^\S\n]*,?[^\S\n]*$/iu;

/**
 * Verbs that take a person as object, and role nouns set before a name ("producer Sandy Lahtela",
 * "assistant to Jay"): evidence, not proof, since "told Google" and "met Apple" can be written.
 */
export const PERSON_BEFORE =
  /\b(?:gave|given|give|gives|sent|send|sends|showed|shown|lent|lend|owe|owes|owed|handed|said|says|told|tell|tells|asked|ask|asks|met|married|marry|dating|dated|divorced|thank|thanked|texted|text|emailed|email|e-mailed|messaged|phoned|invited|hugged|kissed|visited|congratulate|congratulated|introduced|remind|reminded|helped|warned|hired|fired|promoted|replied to|wrote to|spoke (?:to|with)|talked (?:to|with)|shouted at|yelled at|waved at|laughed at|smiled at|listen to|follow up with|(?:gift|gifts|present|presents|flowers|card|cake|surprise|party) for|catch up with|starring|featuring|feat\.|directed by|written by|produced by|painted by|composed by|sung by|performed by|according to|assistant to|on behalf of|along with|together with|(?:wife|husband|son|daughter|sister|brother|mother|father|mom|mum|dad|friend|boss|colleague|partner|cousin|aunt|uncle|niece|nephew|grandson|granddaughter|fiancée?|coworker|co-worker|roommate|neighbou?r) (?:of )?|(?:producer|director|author|writer|novelist|poet|singer|songwriter|rapper|actor|actress|artist|painter|composer|guitarist|drummer|bassist|pianist|commenter|reporter|journalist|editor|columnist|critic|blogger|coach|player|president|chairman|chairwoman|ceo|cto|cfo|founder|co-founder|lawyer|attorney|nurse|patient|client|student|tenant|landlord|candidate|senator|minister|governor|mayor|officer|detective|agent|spokesman|spokeswoman|spokesperson|host|presenter|comedian|chef|designer|architect|engineer|scientist|researcher|historian|photographer|surgeon|pastor|rabbi|imam|priest|ex-\p{L}+))[^\S\n]*,?[^\S\n]*$/iu;

/** What people, and hardly anything else, do: "Anna said", "Lasse shouted at Sara". */
export const PERSON_AFTER =
  /^[^\S\n]*,?[^\S\n]*(?:said|says|told|tells|asked|asks|replied|answered|shouted|yelled|screamed|whispered|laughed|smiled|cried|sighed|nodded|thinks|thought|feels|felt|believes|believed|loves|loved|hates|hated|misses|missed|married|divorced|was born|grew up|died|passed away|texted|lives|lived|studied|and I\b|and me\b)\b/iu;

/** What people do, and organisations too: "Roksana spent a year", "Kelvin is from". */
export const SUBJECT_AFTER =
  /^[^\S\n]*(?:wants|wanted|likes|liked|works|worked|spent|met|called|emailed|wrote|writes|listed|gave|had given|has given|moved|joined|left|quit|retired|is (?:a|an|my|our|his|her|very|so|from)|was (?:a|an|my|our|his|her|very|so)|will be|has been|had been)\b/iu;

/** A possessive before what people, not companies, have: "Kian's address", "Anna's birthday". */
export const PERSONAL_POSSESSION_AFTER =
  /^['’]s[^\S\n]+(?:new[^\S\n]+|old[^\S\n]+)?(?:address|phone|number|email|house|home|flat|apartment|place|room|bedroom|birthday|wedding|funeral|anniversary|flight|train|trip|visit|appointment|surgery|operation|graduation|school|class|teacher|doctor|office|desk|laptop|wife|husband|son|daughter|kids|children|baby|mother|father|mom|mum|dad|sister|brother|parents|family|friend|friends|boyfriend|girlfriend|partner|fianc[eé]e?|dog|cat|car|bike|party|name|surname|mobile|cell|hair|eyes|health|diagnosis|surgery|job|boss|grave|ashes)\b/iu;

/** A work named after its author: "the Takuda novel", "the Fry version". */
export const WORK_AFTER =
  /^[^\S\n]+(?:novel|novels|book|books|song|songs|album|albums|record|film|films|movie|movies|play|plays|poem|poems|concert|concerts|show|interview|biography|memoir|version|recording|cover|story|stories|painting|paintings|sculpture|lecture|speech|quote|quotes|family|household|estate|case|trial|administration|era)\b/iu;

/** "he", "she", "his", "her" later in the sentence: people have them, companies and places do not. */
export const GENDERED_AFTER = /^[^.!?\n]{0,60}\b(?:he|she|his|her|him|hers|himself|herself)\b/iu;

/** A name said to someone: "Vittore, can I…", "don't go to town, Carmen!". */
export const VOCATIVE_AFTER = /^[^\S\n]*(?:,[^\S\n]*(?:can|could|would|will|please|do|did|are|is|have|i|you|we|let|thanks|thank|how|what|where|why|when)\b|[!?])/iu;
export const VOCATIVE_BEFORE = /(?:,|^|[.!?]\s)[^\S\n]*$/u;

/** Prepositions of place: "in Quincy", "arrived at Needham". */
export const PLACE_BEFORE = /\b(?:in|at|near|around|outside|inside|across|through|toward|towards|via|into|across from|north of|south of|east of|west of|city of|town of|state of|province of|visit|visiting|flew to|fly to|drove to|moved to|move to|travel to|travelled to|traveled to|trip to|based in|born in|grew up in|(?:is|are|am|was|were|come|comes|came|originally|here) from)[^\S\n]*$/iu;

/** First words of place names: "San Luis", "Port Edward", "Costa Rica", "Saint Vincent". */
export const PLACE_PREFIXES = new Set(['san', 'santa', 'santo', 'são', 'saint', 'sainte', 'sankt', 'st', 'ste', 'port', 'porto', 'puerto', 'cape', 'lake', 'mount', 'mt', 'fort', 'costa', 'villa', 'ciudad', 'nueva', 'nuevo', 'nova', 'novo', 'bad', 'el', 'los', 'las', 'north', 'south', 'east', 'west', 'new', 'upper', 'lower', 'great', 'little']);
/** A determiner before a single word: "the Hilton", "a Ford". People's bare names take none. */
export const DETERMINER_BEFORE = /\b(?:the|a|an|this|that|these|those|our|their)[^\S\n]+$/iu;

/**
 * Capitalised words ending in an organisation or a building word turn the run before them into
 * part of that name: "Cantrell Ltd", "Wolfram Research", "Kroll Bond Ratings Agency", "H. J.
 * Wilson & Company". Legal forms are matched in their usual capitals only, so that "Anna as" or
 * "Mark co-wrote" stay names.
 */
const ORGANISATION_HEADS =
  'Limited|Company|Corporation|Group|Holdings?|Partners|Associates|Bank|University|College|Institute|Foundation|Agency|Research|Labs?|Laborator(?:y|ies)|Systems|Technolog(?:y|ies)|Solutions|Services|Consulting|Capital|Industries|Enterprises|Media|Studios?|Records|Hotel|Hospital|Clinic|Airlines?|Airways|Motors|Pharma(?:ceuticals)?|Insurance|Electric|Energy|International|Global|Networks?|Software|Foods|Ratings|Center|Centre|School|Academy|Church|Cathedral|Museum|Library|Stadium|Arena|Theat(?:er|re)|Hall|Park|Bridge|River|Lake|Mountains?|Valley|County|District|Station|Airport|Harbou?r|Island|Islands|Beach|Gardens?|Towers?|Mall|Market|Restaurant|Caf[eé]|Club|FC|United|Press|Publishing|Magazine|Times|Journal|News|TV|Radio|Festival|Awards?|Prize|Fund|Trust|Council|Committee|Department|Ministry|Party|Brothers|Bros|Sisters|Inc|Ltd|LLC|LLP|PLC|plc|GmbH|AG|SA|SpA|Srl|AB|AS|ASA|BV|NV|Oy|Oyj|KG|Corp|Co(?![\\p{L}-])';
export const ORGANISATION_AFTER = new RegExp(
  `^,?[^\\S\\n]+(?:(?:\\p{Lu}[\\p{L}\\p{M}]*[^\\S\\n]+){0,3}(?:${ORGANISATION_HEADS})\\b|(?:&|and|And)[^\\S\\n]+(?:Sons|Daughters|Associates|Partners|Company|Co)\\b|&|(?:office|offices|headquarters|building|firm|store|shop|branch)\\b)`,
  'u',
);

/** Capitalised words that make the words after them a place or an institution: "University of X", "San Luis". */
export const ORGANISATION_BEFORE =
  /(?<!\p{L})(?:University|College|Institute|Bank|Museum|Department|Ministry|School|Academy|Church|Hospital|Port|Fort|Lake|Mount|Mt|Saint|San|Santa|Santo|São|St|Ste|Cape|Isle|City|County|Gulf|Bay|Sierra|Costa|Puerto|Porto|Villa|Ciudad|Nueva|Nuevo|Nova|Novo|Bad|Sankt)(?:[^\S\n]+of|\.)?[^\S\n]*$/u;

/** A street type after the run makes it a street name: "Sinko Street", "Baker St.". */
export const STREET_AFTER =
  /^[^\S\n]+(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Terrace|Highway|Hwy|Parkway|Pkwy|Square|Sq|Way|Place|Pl|Close|Crescent|Grove|Row|Alley|Plaza|Creek|Hill|Heights)\b/u;

/** A number on both sides makes the run a street name: "92 Eusebio Dávila 57". */
export const NUMBER_BEFORE = /\d[^\S\n]+$/u;
export const NUMBER_AFTER = /^[^\S\n]+\d/u;
/** House numbers alone since the start of the line, or two of them: "07 262 Pavlou Drandaki". */
export const HOUSE_NUMBER_BEFORE = /(?:(?:^|[\n,:;])[^\S\n]*\d{1,5}[A-Za-z]?|\d{1,5}[A-Za-z]?[^\S\n]+\d{1,5}[A-Za-z]?)[^\S\n]+$/u;
/** A house number after the name, as most of Europe writes it: "Sorlaskeid 32", "Κασνέτη 290". */
export const HOUSE_NUMBER_AFTER = /^[^\S\n]+\d{1,5}[A-Za-z]?(?![\d.,:/-]\d)(?!\p{L})/u;

/** Last words of place names that are also surnames: "Victoria Park", "Carnegie Hall". */
export const PLACE_HEADS = new Set(['park', 'hall', 'hill', 'hills', 'lake', 'bridge', 'garden', 'gardens', 'square', 'field', 'fields', 'heath', 'green', 'wood', 'woods', 'forest', 'beach', 'bay', 'point', 'springs', 'falls', 'valley', 'river', 'island', 'castle', 'palace', 'tower', 'abbey', 'church', 'chapel', 'station', 'market', 'creek', 'ridge', 'grove', 'harbour', 'harbor', 'port', 'haven', 'mills', 'cross']);

/** A singular verb after a list: "Davis, Reynolds and Williamson is" names one firm, not three people. */
export const SINGULAR_AFTER = /^[^\S\n]+(?:is|was|has|does)\b/iu;
