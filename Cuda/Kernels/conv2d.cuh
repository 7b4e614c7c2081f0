// ───── Conv2d ────────────────────────────────────────────────────────────────────────────────────────
// conv2d(channels = K, kernel = k, stride = s, padding = p), NCHW, PyTorch layouts, as
// ModelDsl.Runtime.Cpu.Layers.Conv2d (Conv2dGeometry, Conv2d.Im2Col):
//   x (N, C, H, W)   weight (K, C, k, k) = (K, C·k·k)   bias (K)   ->   y (N, K, H', W')
//   H' = ⌊(H + 2p − k)/s⌋ + 1 (W' likewise);   patch = C·k·k;   plane = H'·W'
//   col (patch, plane) per image:  col[(c·k + ki)·k + kj, oy·W' + ox] = x[c, oy·s − p + ki, ox·s − p + kj]
//   (0 outside the image), so W (K, patch) · col (patch, plane) is the image's output (K, plane).
// Storage (bf16.cuh): x and y are activations, md_act; weight, bias, col, the products and every gradient are float.
// x is read only by md_conv2d_im2col (widened into the float col), so every product reads float operands. y is
// written by the forward's product: cuBLAS with md_act = float; md_conv2d_forward_product when activations are BF16
// (cuBLAS cannot write a BF16 C from FP32 operands), which adds the bias and rounds y once.
// The matrix products are GpuContext (cuBLAS) calls made by the host. col holds every image's columns (image n at
// col + n·patch·plane), so each product is one strided batch over the N images, W shared (stride 0):
//   forward:
//     md_conv2d_im2col(N, x, col)
//     SgemmStridedBatched(false, false, K, plane, patch, 1, W, patch, 0, col, plane, patch·plane,
//                         0, y, plane, K·plane, N)                              y[n] = W·col[n]
//     md_conv2d_bias_forward(N, K, plane, bias, y)                              (skipped without a bias)
//   forward with BF16 activations (LayerContext.Bf16Activations), in place of the GEMM and the bias kernel:
//     md_conv2d_im2col(N, x, col);  md_conv2d_forward_product(N, K, patch, plane, W, col, bias, y)
//   backward, on the forward's col; P (N, K, patch) and ones (N) are working memory too:
//     SgemmStridedBatched(false, true, K, patch, plane, 1, dy, plane, K·plane, col, plane, patch·plane,
//                         0, P, patch, K·patch, N)                              P[n] = dy[n]·col[n]ᵀ
//     Sgemm(false, false, 1, K·patch, N, 1, ones, N, P, K·patch, β, dW, K·patch)   dW (+)= Σ_n P[n]
//         β = 0 unless accumulating the parameter gradients, else 1
//     SgemmStridedBatched(true, false, patch, plane, K, 1, W, patch, 0, dy, plane, K·plane,
//                         0, col, plane, patch·plane, N)                        dcol[n] = Wᵀ·dy[n] (dx wanted)
//     md_conv2d_col2im(N, col, dx, accumulate_input)                            (dx wanted)
//     md_conv2d_bias_backward(N, K, plane, dy, dbias, accumulate_parameters)
// dW sums the images' products by a GEMM with ones, not by β = 1 from image to image, so that it too is one call
// per step; a GEMM's sum order is fixed, so dW stays deterministic. dcol overwrites col once P has been read.

// md_conv2d_im2col: col (images, patch, plane) from x (images, C, H, W).
//   launch: grid (min(⌈images·patch·plane/256⌉, 65535)), block (256): one thread per col element, grid-stride.
//   why: consecutive threads write consecutive columns of a col row (coalesced); their reads step through an
//   input row by the stride.
extern "C" __global__ void __launch_bounds__(256) md_conv2d_im2col(
    int images, int channels, int height, int width, int out_height, int out_width, int kernel, int stride,
    int padding, const md_act* __restrict__ x, float* __restrict__ col)
{
    int kk = kernel * kernel;
    int patch = channels * kk;
    int plane = out_height * out_width;
    long n = (long)images * patch * plane;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        int o = (int)(i % plane);
        long rest = i / plane;
        int r = (int)(rest % patch);
        long image = rest / patch;
        int c = r / kk, ki = (r - c * kk) / kernel, kj = r % kernel;
        int iy = (o / out_width) * stride - padding + ki;
        int ix = (o % out_width) * stride - padding + kj;
        bool inside = (unsigned)iy < (unsigned)height && (unsigned)ix < (unsigned)width;
        col[i] = inside ? md_load(x[((image * channels + c) * height + iy) * width + ix]) : 0.0f;
    }
}

// md_conv2d_col2im: dx (images, C, H, W) (+)= col2im(dcol (images, patch, plane)), the adjoint of im2col.
//   launch: grid (min(⌈images·C·H·W/256⌉, 65535)), block (256): one thread per input pixel, grid-stride.
//   why: the gather form: a pixel sums the ≤ ⌈k/s⌉² col entries that read it, in (ki, kj) order as the CPU's
//   Col2ImAdd adds them, so overlapping windows need no atomics and the result is deterministic.
extern "C" __global__ void __launch_bounds__(256) md_conv2d_col2im(
    int images, int channels, int height, int width, int out_height, int out_width, int kernel, int stride,
    int padding, const float* __restrict__ col, float* __restrict__ dx, int accumulate)
{
    int kk = kernel * kernel;
    int plane = out_height * out_width;
    long n = (long)images * channels * height * width;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        int ix = (int)(i % width);
        long rest = i / width;
        int iy = (int)(rest % height);
        long image_channel = rest / height; // image·C + c: its col rows start at (image·C + c)·k·k
        const float* rows = col + image_channel * kk * plane;
        float sum = accumulate ? dx[i] : 0.0f;
        for (int ki = 0; ki < kernel; ki++)
        {
            int ty = iy + padding - ki; // = oy·s for the output row that reads (iy, ·) through ki
            if (ty < 0 || ty % stride != 0 || ty / stride >= out_height) continue;
            for (int kj = 0; kj < kernel; kj++)
            {
                int tx = ix + padding - kj;
                if (tx < 0 || tx % stride != 0 || tx / stride >= out_width) continue;
                sum += rows[(long)(ki * kernel + kj) * plane + (ty / stride) * out_width + tx / stride];
            }
        }
        dx[i] = sum;
    }
}

// md_conv2d_bias_forward: y (images, K, plane) += bias[k].
//   launch: grid (min(⌈images·K·plane/256⌉, 65535)), block (256): one thread per element, grid-stride.
//   why: one pass over y after the batched GEMM (a GEMM with β = 1 over a broadcast bias would need the
//   bias written into y first, which is the same pass).
extern "C" __global__ void __launch_bounds__(256) md_conv2d_bias_forward(
    int images, int channels, int plane, const float* __restrict__ bias, md_act* __restrict__ y)
{
    long n = (long)images * channels * plane;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        y[i] = md_act_from(md_load(y[i]) + bias[(i / plane) % channels]);
}

// md_conv2d_forward_product: y (images, K, plane) = W (K, patch)·col[n] (patch, plane) + bias[k] (bias may be null),
// rounded once on its store: the forward's product when activations are BF16.
//   launch: grid (min(⌈images·K·plane/256⌉, 65535)), block (256): one thread per element of y, grid-stride.
//   why: cuBLAS's GEMMs with FP32 operands write FP32 only, and y has no FP32 home; a thread sums its patch in order
//   (W's row is the same for a block's neighbouring threads, col's reads coalesce across them). A plain loop, not a
//   tiled GEMM: the conv2d models this library serves are small, and a BF16 session's matrix products of the dense
//   layers are where the time goes.
extern "C" __global__ void __launch_bounds__(256) md_conv2d_forward_product(
    int images, int channels, int patch, int plane, const float* __restrict__ weight, const float* __restrict__ col,
    const float* __restrict__ bias, md_act* __restrict__ y)
{
    long n = (long)images * channels * plane;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
    {
        int p = (int)(i % plane);
        long rest = i / plane;
        int k = (int)(rest % channels);
        long image = rest / channels;
        const float* w_row = weight + (long)k * patch;
        const float* column = col + image * patch * plane + p;
        float sum = 0.0f;
        for (int r = 0; r < patch; r++) sum += w_row[r] * column[(long)r * plane];
        y[i] = md_act_from(bias != nullptr ? sum + bias[k] : sum);
    }
}

// md_conv2d_bias_backward: dbias (K) (+)= Σ over images and pixels of dy (images, K, plane).
//   launch: grid (K), block (256): one block per output channel.
//   why: deterministic: each thread sums a fixed strided subset of the channel's images·plane elements
//   (consecutive threads read consecutive pixels), then a tree in shared memory adds the 256 partial sums in
//   a fixed order. No atomics.
extern "C" __global__ void __launch_bounds__(256) md_conv2d_bias_backward(
    int images, int channels, int plane, const float* __restrict__ dy, float* __restrict__ dbias, int accumulate)
{
    __shared__ float partial[256];
    int channel = blockIdx.x;
    long n = (long)images * plane;
    float sum = 0.0f;
    for (long e = threadIdx.x; e < n; e += blockDim.x)
    {
        long image = e / plane;
        sum += dy[(image * channels + channel) * plane + (e - image * plane)];
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1)
    {
        if ((int)threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) dbias[channel] = accumulate ? dbias[channel] + partial[0] : partial[0];
}
