// The ECS SDK, loaded once with require(). An ESM `import` of this CommonJS package keeps a second copy of its 3 MiB
// client source (the ESM loader's export scan holds one, the CommonJS loader another; a heap snapshot of the operator
// showed both, issue 19); importing it from here everywhere keeps one. Its models barrel is primed lazily first, so
// only the model files of the actions called are loaded (lazy-barrel.ts; eager as before if the barrel is unexpected).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type EcsSdk from '@alicloud/ecs20140526';
import { primeLazyBarrel } from './lazy-barrel.ts';

const require = createRequire(import.meta.url);

const entry = require.resolve('@alicloud/ecs20140526');

/** Where the SDK's entry (dist/client.js) finds its models: `require("./models/model")`. */
export const ECS_MODELS_BARREL = join(dirname(entry), 'models', 'model.js');

if (require.cache[entry] === undefined) primeLazyBarrel(ECS_MODELS_BARREL);

/** The @alicloud/ecs20140526 module: `Ecs.default` is the client, the rest are its request and response models. */
export const Ecs = require('@alicloud/ecs20140526') as typeof EcsSdk;
