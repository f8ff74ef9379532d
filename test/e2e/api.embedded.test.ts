import { describeApi } from '../contracts/api.contract.js';
import { startTestNode } from '../support/engram-node.js';

describeApi('embedded', { start: () => startTestNode('embedded') });
