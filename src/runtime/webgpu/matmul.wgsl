// C = A × B in f32, 16×16 tiles through workgroup memory. A is rows × n, B is n × n, C is rows × n;
// params.x = n, a multiple of 16, as is rows. Dispatch [n / 16, rows / 16]. The one matmul kernel of
// conun: the provider measures its GPU with it (measureGflops.ts), the example and bench:gpu run it.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> params: vec4<u32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
var<workgroup> tileA: array<array<f32, 16>, 16>;
var<workgroup> tileB: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn matmul(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let n = params.x;
  var sum = 0.0;
  for (var t = 0u; t < n; t += 16u) {
    tileA[local.y][local.x] = a[id.y * n + t + local.x];
    tileB[local.y][local.x] = b[(t + local.y) * n + id.x];
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) { sum += tileA[local.y][k] * tileB[k][local.x]; }
    workgroupBarrier();
  }
  c[id.y * n + id.x] = sum;
}
