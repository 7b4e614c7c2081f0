// ───── BatchNorm ─────────────────────────────────────────────────────────────────────────────────────
// batch_norm(momentum, eps, affine), PyTorch's BatchNorm1d/2d, as ModelDsl.Runtime.Cpu.Layers.BatchNorm:
//   x (N, C, S) with S = 1, L or H·W   weight, bias (C) or null (affine=false)   ->   y (N, C, S)
// Training, per channel over n = N·S values: mean = Σ x / n;  var = Σ (x − mean)² / n;  rstd = 1/√(var + eps)
//   running_mean = (1 − momentum)·running_mean + momentum·mean;  running_var likewise with var·n/(n − 1);
//   mean, rstd (C) saved for the backward. Inference: running_mean and 1/√(running_var + eps) instead.
//   y = x·k + shift,  k = weight·rstd,  shift = bias − mean·k   (the CPU's formula, term for term)
// Backward (training): x̂ = (x − mean)·rstd
//   dx (+)= weight·rstd·(dy − mean(dy) − x̂·mean(dy·x̂));   dweight (+)= Σ dy·x̂;   dbias (+)= Σ dy
// num_batches_tracked is a host counter: the launcher counts it.
// Storage (bf16.cuh): x and y are activations, md_act; weight, bias, mean, rstd, the running statistics and every
// gradient are float. Sums stay float.

// Σ of v over the 256-thread block, in a fixed order (warp shuffles, then the 8 warp sums in order): every thread
// gets the total. partial holds 8 floats of shared memory; the block must reach this call together.
__device__ __forceinline__ float md_batchnorm_block_sum(float v, float* partial)
{
    v = md_warp_sum(v);
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
    __syncthreads();
    float total = 0.0f;
    for (int k = 0; k < 8; k++) total += partial[k];
    __syncthreads(); // partial is reused by the next sum
    return total;
}

// md_batchnorm_statistics: mean, rstd (C) of the batch, and the running statistics updated in place.
//   launch: grid (C), block (256): one block per channel.
//   why: a channel's n = N·S values are strided by C·S between samples; 256 threads stride over them and meet in
//   md_batchnorm_block_sum. Two passes (Σ x, then Σ (x − mean)²), like the CPU's, so a large mean costs no precision.
extern "C" __global__ void __launch_bounds__(256) md_batchnorm_statistics(
    int batch, int channels, int spatial, float momentum, float eps, const md_act* __restrict__ x,
    float* __restrict__ mean, float* __restrict__ rstd, float* __restrict__ running_mean, float* __restrict__ running_var)
{
    __shared__ float partial[8];
    int c = blockIdx.x;
    long n = (long)batch * spatial;
    float sum = 0.0f;
    for (long i = threadIdx.x; i < n; i += blockDim.x) sum += md_load(x[((i / spatial) * channels + c) * spatial + i % spatial]);
    float m = md_batchnorm_block_sum(sum, partial) / (float)n;
    float squares = 0.0f;
    for (long i = threadIdx.x; i < n; i += blockDim.x)
    {
        float centred = md_load(x[((i / spatial) * channels + c) * spatial + i % spatial]) - m;
        squares += centred * centred;
    }
    float variance = md_batchnorm_block_sum(squares, partial) / (float)n;
    if (threadIdx.x == 0)
    {
        float unbias = (float)((double)n / (double)(n - 1));
        mean[c] = m;
        rstd[c] = 1.0f / sqrtf(variance + eps);
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * m;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * variance * unbias;
    }
}

// md_batchnorm_apply: y (N, C, S) = x·k + shift per channel, from the batch statistics (training != 0: mean, rstd)
// or the running ones (inference: running_mean, 1/√(running_var + eps); nothing but y is written).
//   launch: grid (min(⌈N·C·S/256⌉, 65535)), block (256): one thread per element, grid-stride.
//   why: elementwise once the statistics are known; the channel is (i / S) % C.
extern "C" __global__ void __launch_bounds__(256) md_batchnorm_apply(
    int batch, int channels, int spatial, float eps, int training, const md_act* __restrict__ x,
    const float* __restrict__ weight, const float* __restrict__ bias, const float* __restrict__ mean,
    const float* __restrict__ rstd, const float* __restrict__ running_mean, const float* __restrict__ running_var,
    md_act* __restrict__ y)
{
    long total = (long)batch * channels * spatial;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (long)gridDim.x * blockDim.x)
    {
        int c = (int)((i / spatial) % channels);
        float m = training ? mean[c] : running_mean[c];
        float s = training ? rstd[c] : 1.0f / sqrtf(running_var[c] + eps);
        float k = (weight != nullptr ? weight[c] : 1.0f) * s;
        float shift = (bias != nullptr ? bias[c] : 0.0f) - m * k;
        y[i] = md_act_from(md_load(x[i]) * k + shift);
    }
}

// md_batchnorm_backward: per channel, dweight (+)= Σ dy·x̂ and dbias (+)= Σ dy (when not null), then
// dx (+)= k·(dy − mean(dy) − x̂·mean(dy·x̂)), k = weight·rstd (when dx is not null).
//   launch: grid (C), block (256): one block per channel.
//   why: the two channel sums are block reductions in a fixed order (deterministic, no atomics); the same block
//   then writes the channel's dx, so the sums never leave the chip.
extern "C" __global__ void __launch_bounds__(256) md_batchnorm_backward(
    int batch, int channels, int spatial, const md_act* __restrict__ x, const float* __restrict__ weight,
    const float* __restrict__ mean, const float* __restrict__ rstd, const float* __restrict__ dy,
    float* __restrict__ dx, float* __restrict__ dweight, float* __restrict__ dbias,
    int accumulate_input, int accumulate_parameters)
{
    __shared__ float partial[8];
    int c = blockIdx.x;
    long n = (long)batch * spatial;
    float m = mean[c], s = rstd[c];
    float sum_dy = 0.0f, sum_dy_centred = 0.0f;
    for (long i = threadIdx.x; i < n; i += blockDim.x)
    {
        long at = ((i / spatial) * channels + c) * spatial + i % spatial;
        float g = dy[at];
        sum_dy += g;
        sum_dy_centred += g * (md_load(x[at]) - m);
    }
    sum_dy = md_batchnorm_block_sum(sum_dy, partial);
    float sum_dy_xhat = md_batchnorm_block_sum(sum_dy_centred, partial) * s;
    if (threadIdx.x == 0)
    {
        if (dweight != nullptr) dweight[c] = accumulate_parameters ? dweight[c] + sum_dy_xhat : sum_dy_xhat;
        if (dbias != nullptr) dbias[c] = accumulate_parameters ? dbias[c] + sum_dy : sum_dy;
    }
    if (dx == nullptr) return;
    float k = (weight != nullptr ? weight[c] : 1.0f) * s;
    float mean_dy = sum_dy / (float)n, mean_dy_xhat = sum_dy_xhat / (float)n;
    for (long i = threadIdx.x; i < n; i += blockDim.x)
    {
        long at = ((i / spatial) * channels + c) * spatial + i % spatial;
        float xhat = (md_load(x[at]) - m) * s;
        float d = k * (dy[at] - mean_dy - xhat * mean_dy_xhat);
        dx[at] = accumulate_input ? dx[at] + d : d;
    }
}
