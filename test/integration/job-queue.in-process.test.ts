import { createInProcessJobQueue } from '../../src/adapters/in-process-queue/in-process-job-queue.js';
import { describeJobQueueContract } from '../contracts/job-queue.contract.js';
import { silentLogger } from '../support/logger.js';

describeJobQueueContract('in-process', async ({ retry }) => createInProcessJobQueue({ logger: silentLogger(), retry }));
