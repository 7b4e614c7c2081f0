// ───── Embedding ─────────────────────────────────────────────────────────────────────────────────────
// embedding(num, dim) on int ids, as ModelDsl.Runtime.Cpu.Layers.Embedding:
//   ids (count) (the input's elements, any shape flattened)   weight (num, dim)   ->   y (count, dim)
// Forward: y[i] = weight[ids[i]] (gather).   Backward: dweight[ids[i]] += dy[i] for every i (scatter-add),
// except ids equal to padding_idx (PyTorch's: that row gets no gradient; -1 for none).
// The host checks the ids before launching (the CPU kernel's message names the bad id and its position); here
// an id outside [0, num) reads as a zero row and contributes no gradient, instead of reading out of bounds.
// Storage (bf16.cuh): y is an activation, md_act (rounded once on its store when BF16); weight, dy and dweight are float.

// md_embedding_forward: y (count, dim) = weight[ids].
//   launch: grid (min(⌈count·dim/256⌉, 65535)), block (256): one thread per element of y, grid-stride.
//   why: a pure gather; consecutive threads copy consecutive floats of a row, so reads and writes coalesce.
extern "C" __global__ void __launch_bounds__(256) md_embedding_forward(
    int count, int num, int dim, const int* __restrict__ ids, const float* __restrict__ weight,
    md_act* __restrict__ y)
{
    long n = (long)count * dim;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        long position = i / dim;
        int c = (int)(i - position * dim);
        int id = ids[position];
        y[i] = md_act_from((unsigned)id < (unsigned)num ? weight[(long)id * dim + c] : 0.0f);
    }
}

// md_embedding_backward_clear: dweight (num, dim) = 0. Launch it before md_embedding_backward unless
// accumulating (the CPU kernel's accumulate = false); with accumulate the scatter adds to what is there.
//   launch: grid (min(⌈num·dim/256⌉, 65535)), block (256): one thread per element, grid-stride.
//   why: a kernel rather than the host's memset, because the gradient usually lives at an offset inside the
//   gradient arena and the generated code launches kernels on the same stream anyway.
extern "C" __global__ void __launch_bounds__(256) md_embedding_backward_clear(
    int num, int dim, float* __restrict__ dweight)
{
    long n = (long)num * dim;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        dweight[i] = 0.0f;
}

// md_embedding_backward: dweight[ids[i], c] += dy[i, c] for every element of dy (count, dim) whose id is not
// padding_idx (-1: none).
//   launch: grid (min(⌈count·dim/256⌉, 65535)), block (256): one thread per element of dy, grid-stride.
//   why: a scatter-add whose destination rows collide whenever an id repeats (every common token), so the adds
//   are float atomicAdd: the one place in this library with float atomics. NOT DETERMINISTIC on a GPU: the
//   order in which a repeated id's rows are added varies between runs, so dweight can differ in the last bits
//   from run to run (and from the CPU, which adds in position order). Rows no id selects are untouched. The
//   deterministic alternatives (sorting ids, or one thread per (row, column) scanning every id) cost a sort
//   or O(num·count) reads; the emulator runs blocks in order, so there it adds in position order like the CPU.
extern "C" __global__ void __launch_bounds__(256) md_embedding_backward(
    int count, int num, int dim, int padding_idx, const int* __restrict__ ids, const float* __restrict__ dy,
    float* __restrict__ dweight)
{
    long n = (long)count * dim;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        long position = i / dim;
        int c = (int)(i - position * dim);
        int id = ids[position];
        if ((unsigned)id < (unsigned)num && id != padding_idx) atomicAdd(&dweight[(long)id * dim + c], dy[i]);
    }
}
