// ───── Permute ───────────────────────────────────────────────────────────────────────────────────────
// permute(d0, d1, ...), rank ≤ 4 padded in front with size-1 axes, as ModelDsl.Runtime.Cpu.Layers.Permute: a copy
// of a source tensor into a permutation of its axes. Destination (n0, n1, n2, n3), row-major; destination element
// (i0, i1, i2, i3) reads the source at i0·t0 + i1·t1 + i2·t2 + i3·t3 (t_k: the source's stride along the axis that
// becomes axis k). Forward: y = x permuted. Backward: dx (+)= dy permuted back (the inverse permutation's sizes and
// strides, over dy).
// Storage (bf16.cuh): the forward copies activations, md_act → md_act (unchanged values); the backward copies
// gradients, float → float. One device function serves both.

// Destination element o's source offset: i0·t0 + i1·t1 + i2·t2 + i3·t3 for o's (i0, i1, i2, i3) in (n0, n1, n2, n3).
__device__ __forceinline__ long md_permute_source(long o, int n1, int n2, int n3, int t0, int t1, int t2, int t3)
{
    long rest = o;
    int i3 = (int)(rest % n3); rest /= n3;
    int i2 = (int)(rest % n2); rest /= n2;
    int i1 = (int)(rest % n1);
    int i0 = (int)(rest / n1);
    return (long)i0 * t0 + (long)i1 * t1 + (long)i2 * t2 + (long)i3 * t3;
}

// md_permute_forward: y (n0, n1, n2, n3) = x permuted (activations).
//   launch: grid (min(⌈n0·n1·n2·n3/256⌉, 65535)), block (256): one thread per destination element, grid-stride.
//   why: every destination element has exactly one source element: writes coalesce, reads are strided (a copy
//   moves each element once either way), and no element is written twice, so no atomics.
extern "C" __global__ void __launch_bounds__(256) md_permute_forward(
    int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3,
    const md_act* __restrict__ x, md_act* __restrict__ y)
{
    long n = (long)n0 * n1 * n2 * n3;
    for (long o = (long)blockIdx.x * blockDim.x + threadIdx.x; o < n; o += (long)gridDim.x * blockDim.x)
        y[o] = x[md_permute_source(o, n1, n2, n3, t0, t1, t2, t3)];
}

// md_permute_backward: dx (n0, n1, n2, n3) (+)= dy permuted back (the inverse permutation's sizes and strides).
//   launch: grid (min(⌈n0·n1·n2·n3/256⌉, 65535)), block (256): one thread per destination element, grid-stride.
//   why: as the forward; each dx element has one writer, so accumulating needs no atomics.
extern "C" __global__ void __launch_bounds__(256) md_permute_backward(
    int n0, int n1, int n2, int n3, int t0, int t1, int t2, int t3,
    const float* __restrict__ dy, float* __restrict__ dx, int accumulate)
{
    long n = (long)n0 * n1 * n2 * n3;
    for (long o = (long)blockIdx.x * blockDim.x + threadIdx.x; o < n; o += (long)gridDim.x * blockDim.x)
    {
        float v = dy[md_permute_source(o, n1, n2, n3, t0, t1, t2, t3)];
        dx[o] = accumulate ? dx[o] + v : v;
    }
}
