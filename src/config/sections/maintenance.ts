import { z } from 'zod';

export const Maintenance = z
  .strictObject({
    page: z.string().min(1).optional().describe('HTML file (relative to the repository root) answered with 503 while maintenance is on; default: a plain page naming the app'),
    retryAfterSeconds: z.number().int().min(1).max(86_400).default(300).describe('Retry-After header of the 503 answers'),
  })
  .describe('pier maintenance on|off <env>: every host\'s proxy answers 503 with a page, except the health path and the ACME challenge');
