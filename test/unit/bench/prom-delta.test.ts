import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramDelta, parseProm } from '../../../bench/prom-delta.ts';

const before = parseProm(`# HELP x
apiserver_request_duration_seconds_sum{verb="GET",resource="secrets",subresource=""} 2
apiserver_request_duration_seconds_count{verb="GET",resource="secrets",subresource=""} 10
apiserver_request_duration_seconds_sum{verb="PATCH",resource="pods",subresource="status"} 1
apiserver_request_duration_seconds_count{verb="PATCH",resource="pods",subresource="status"} 4
apiserver_request_duration_seconds_bucket{verb="GET",resource="secrets",subresource="",le="1"} 10
`);
const after = parseProm(`apiserver_request_duration_seconds_sum{verb="GET",resource="secrets",subresource=""} 5
apiserver_request_duration_seconds_count{verb="GET",resource="secrets",subresource=""} 16
apiserver_request_duration_seconds_sum{verb="PATCH",resource="pods",subresource="status"} 1
apiserver_request_duration_seconds_count{verb="PATCH",resource="pods",subresource="status"} 4
apiserver_request_duration_seconds_sum{verb="POST",resource="events",subresource=""} 0.5
apiserver_request_duration_seconds_count{verb="POST",resource="events",subresource=""} 5
apiserver_request_duration_seconds_bucket{verb="GET",resource="secrets",subresource="",le="1"} 16
`);

test('histogramDelta: count and mean per group between two scrapes, unchanged groups left out, largest total first', () => {
  assert.deepEqual(histogramDelta(before, after, 'apiserver_request_duration_seconds', ['verb', 'resource', 'subresource']), {
    'GET secrets ': { count: 6, meanMs: 500, totalS: 3 },
    'POST events ': { count: 5, meanMs: 100, totalS: 0.5 },
  });
});

test('histogramDelta leaves out the groups skip matches', () => {
  assert.deepEqual(Object.keys(histogramDelta(before, after, 'apiserver_request_duration_seconds', ['verb', 'resource', 'subresource'], 20, /^GET /)), ['POST events ']);
});

test('parseProm skips comments and reads label values with escaped quotes', () => {
  const s = parseProm('# TYPE a counter\na{x="q\\"r"} 3\nb 4\n');
  assert.equal(s.get('a{x="q\\"r"}'), 3);
  assert.equal(s.get('b'), 4);
});
