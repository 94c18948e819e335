// A pod's images: pulled in the background, retried after ErrImagePull and
// ImagePullBackOff on the (fake) clock, never pulled twice at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Container } from '@kubernetes/client-node';
import { ImagePullError, PodImages, type ImageService, type NodeImage } from '../../../src/local/node/image-service.ts';
import type { ContainerFacts } from '../../../src/local/node/pod-status.ts';
import { FakeClock } from './fake-clock.ts';

const flush = () => new Promise((r) => setImmediate(r));

describe('pod images', () => {
  it('pulls once in the background, backs off after failures, then starts with the image', async () => {
    const clock = new FakeClock();
    let known = false;
    let pulls = 0;
    const img: NodeImage = { ref: 'x:1', digest: 'sha256:1', config: {} };
    const images: ImageService = {
      present: async () => undefined,
      pull: async () => {
        pulls++;
        if (!known) throw new ImagePullError('image "x:1" is unknown. Known images: y:2');
        return img;
      },
    };
    const kicks: number[] = [];
    const pi = new PodImages(images, clock, (ms) => kicks.push(ms));
    const c: ContainerFacts = { spec: { name: 'c', image: 'x:1' } as V1Container, init: false, restartCount: 0, state: { kind: 'waiting', reason: 'ContainerCreating' }, ready: false, started: false, backoffMs: 0, nextStartAt: 0 };
    assert.equal(pi.get(c), undefined);
    assert.equal(pi.get(c), undefined, 'a pull in flight is not started again');
    await flush();
    assert.equal(pulls, 1);
    assert.deepEqual(c.state, { kind: 'waiting', reason: 'ErrImagePull', message: 'image "x:1" is unknown. Known images: y:2' });
    assert.deepEqual(kicks, [5000]);
    assert.equal(pi.get(c), undefined, 'not before the retry');
    await flush();
    assert.equal(pulls, 1);
    clock.advance(5000);
    pi.get(c);
    await flush();
    assert.equal(pulls, 2);
    assert.equal(c.state.kind === 'waiting' && c.state.reason, 'ImagePullBackOff');
    assert.deepEqual(kicks, [5000, 10_000]);
    known = true;
    clock.advance(10_000);
    assert.equal(pi.get(c), undefined);
    await flush();
    assert.deepEqual(kicks, [5000, 10_000, 0]);
    assert.equal(pi.get(c), img);
    assert.equal(pulls, 3);
  });
});
