// The ECS SDK, loaded once with require(). An ESM `import` of this CommonJS package keeps a second copy of its 3 MiB
// client source (the ESM loader's export scan holds one, the CommonJS loader another; a heap snapshot of the operator
// showed both, issue 19); importing it from here everywhere keeps one.
import { createRequire } from 'node:module';
import type EcsSdk from '@alicloud/ecs20140526';

const require = createRequire(import.meta.url);

/** The @alicloud/ecs20140526 module: `Ecs.default` is the client, the rest are its request and response models. */
export const Ecs = require('@alicloud/ecs20140526') as typeof EcsSdk;
