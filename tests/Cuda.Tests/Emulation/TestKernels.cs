namespace ModelDsl.Cuda.Tests.Emulation;

/// <summary>
/// Hand-written CUDA C kernels for the emulator tests: plain CUDA (no includes, nothing emulator-specific) so the same
/// text compiles under NVRTC, and launched through <see cref="GpuKernel"/> and <see cref="KernelArguments"/> the way
/// generated model code launches its kernels.
/// </summary>
internal static class TestKernels
{
    public const string ModuleName = "emulation_tests";

    public const string Source = """
        // Grid-stride y[i] = alpha * x[i] + y[i] + offset: pointer, float and int arguments.
        extern "C" __global__ void __launch_bounds__(256) vector_add(const float* __restrict__ x, float* __restrict__ y, float alpha, int n, int offset)
        {
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
                y[i] = alpha * x[i] + y[i] + (float)offset;
        }

        // sums[b] = x[256 b .. 256 b + 255] summed by a shared-memory tree reduction (block of 256 threads).
        extern "C" __global__ void __launch_bounds__(256) block_sum(const float* __restrict__ x, float* __restrict__ sums, int n)
        {
            __shared__ float partial[256];
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            partial[threadIdx.x] = i < n ? x[i] : 0.0f;
            __syncthreads();
            for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2)
            {
                if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
                __syncthreads();
            }
            if (threadIdx.x == 0) sums[blockIdx.x] = partial[0];
        }

        // The butterfly leaves the warp's total in every lane.
        __device__ __forceinline__ float warp_sum_xor(float v)
        {
            for (int mask = 16; mask > 0; mask >>= 1) v += __shfl_xor_sync(0xffffffffu, v, mask);
            return v;
        }

        // The tree leaves the warp's total in lane 0.
        __device__ __forceinline__ float warp_sum_down(float v)
        {
            for (unsigned delta = 16; delta > 0; delta >>= 1) v += __shfl_down_sync(0xffffffffu, v, delta);
            return v;
        }

        // Per warp w: xor_sums[w], down_sums[w] and warp_max[w] of x; disagreements counts lanes whose butterfly total
        // differs from lane 0's (read with __shfl_sync).
        extern "C" __global__ void warp_reduce(const float* x, float* xor_sums, float* down_sums, float* warp_max, int* disagreements, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            float v = i < n ? x[i] : 0.0f;
            float a = warp_sum_xor(v);
            float b = warp_sum_down(v);
            float m = v;
            for (int mask = 16; mask > 0; mask >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, mask));
            if (a != __shfl_sync(0xffffffffu, a, 0)) atomicAdd(disagreements, 1);
            if ((threadIdx.x & (warpSize - 1)) == 0)
            {
                xor_sums[i / warpSize] = a;
                down_sums[i / warpSize] = b;
                warp_max[i / warpSize] = m;
            }
        }

        // Inclusive prefix sums with __shfl_up_sync: over each warp (scan32) and over each group of 16 lanes (scan16,
        // width 16); first8 is the value of the first lane of each group of 8 (__shfl_sync with width 8).
        extern "C" __global__ void warp_scan(const int* x, int* scan32, int* scan16, int* first8, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            int lane = threadIdx.x & 31;
            int v = i < n ? x[i] : 0;
            int s = v;
            for (unsigned d = 1; d < 32; d <<= 1)
            {
                int t = __shfl_up_sync(0xffffffffu, s, d);
                if (lane >= (int)d) s += t;
            }
            int h = v;
            for (unsigned d = 1; d < 16; d <<= 1)
            {
                int t = __shfl_up_sync(0xffffffffu, h, d, 16);
                if ((lane & 15) >= (int)d) h += t;
            }
            int f = __shfl_sync(0xffffffffu, v, 0, 8);
            if (i < n)
            {
                scan32[i] = s;
                scan16[i] = h;
                first8[i] = f;
            }
        }

        // column_sums[c] = sum over r of m[r, c] (rows × cols, row-major), block (32, 8): threadIdx.x picks a column of
        // the block's 32, the 8 threadIdx.y rows stride down it, shared memory [8][32] combines the 8 partial sums.
        extern "C" __global__ void __launch_bounds__(256) column_sum(const float* __restrict__ m, float* __restrict__ column_sums, int rows, int cols)
        {
            __shared__ float partial[8][32];
            int c = blockIdx.x * 32 + threadIdx.x;
            float s = 0.0f;
            if (c < cols)
                for (int r = threadIdx.y; r < rows; r += blockDim.y) s += m[(long long)r * cols + c];
            partial[threadIdx.y][threadIdx.x] = s;
            __syncthreads();
            if (threadIdx.y == 0 && c < cols)
            {
                float t = 0.0f;
                for (int y = 0; y < 8; y++) t += partial[y][threadIdx.x];
                column_sums[c] = t;
            }
        }

        // sums[b] = the block's total, reduced the usual two-level way: shuffles within each warp, the warps' totals
        // through shared memory, shuffles again in warp 0. Blocks of up to 1024 threads.
        extern "C" __global__ void __launch_bounds__(1024) block_reduce(const float* __restrict__ x, float* __restrict__ sums, int n)
        {
            __shared__ float warp_totals[32];
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize, warps = blockDim.x / warpSize;
            float v = warp_sum_down(i < n ? x[i] : 0.0f);
            if (lane == 0) warp_totals[warp] = v;
            __syncthreads();
            if (warp == 0)
            {
                v = warp_sum_down(lane < warps ? warp_totals[lane] : 0.0f);
                if (lane == 0) sums[blockIdx.x] = v;
            }
        }

        // Each thread of a 3-D grid of 3-D blocks writes its coordinates, packed as decimal digits, at its global linear index.
        extern "C" __global__ void coordinates(int* out)
        {
            int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
            int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
            out[block * blockDim.x * blockDim.y * blockDim.z + thread] =
                blockIdx.z * 100000 + blockIdx.y * 10000 + blockIdx.x * 1000 + threadIdx.z * 100 + threadIdx.y * 10 + threadIdx.x;
        }

        // bins[v % bin_count] += 1 for every value, plus the values' total (float and int atomicAdd) and maximum (atomicMax).
        extern "C" __global__ void histogram(const int* values, unsigned* bins, float* total, int* count, int* max_value, int n, int bin_count)
        {
            for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
            {
                int v = values[i];
                atomicAdd(&bins[v % bin_count], 1u);
                atomicAdd(total, (float)v);
                atomicAdd(count, 1);
                atomicMax(max_value, v);
            }
        }

        // A bug: threads past n leave before the __syncthreads the others wait at.
        extern "C" __global__ void early_exit_then_sync(float* x, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i >= n) return;
            x[i] = 1.0f;
            __syncthreads();
            x[i] += 1.0f;
        }

        // A bug: lanes past n leave before a shuffle whose mask names them.
        extern "C" __global__ void early_exit_then_shuffle(float* x, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i >= n) return;
            x[i] = __shfl_down_sync(0xffffffffu, x[i], 1);
        }

        extern "C" __global__ void trap_in_thread(int thread)
        {
            if ((int)threadIdx.x == thread) __trap();
        }

        // One store per thread: what launching a thread costs.
        extern "C" __global__ void __launch_bounds__(256) fill_index(float* y, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = (float)i;
        }
        """;
}
