using System.Collections.Generic;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Cuda
{
    public sealed partial class CudaEmitter
    {
        /// <summary>
        /// The loss in one kernel. Cross-entropy: one warp per row computes the row's max and Σexp with warp shuffles,
        /// writes the row's loss term and, in the same pass, the gradient (softmax − onehot)/rows; the softmax itself is
        /// never stored. BCE and MSE: one thread per element writes its loss term and gradient. The terms are averaged by
        /// <c>loss_mean</c>, so the sum is deterministic.
        /// </summary>
        private CudaLaunch EmitLoss(LossKernel loss)
        {
            var arguments = new List<CudaArgument>
            {
                CudaArgument.SizeOf("rows", loss.Rows),
                CudaArgument.SizeOf("cols", loss.Cols),
                Pointer(loss.Prediction, writable: false),
                Pointer(loss.Target, writable: false),
                CudaArgument.Special("float* __restrict__", "gradient"),
                CudaArgument.Special("float* __restrict__", "loss_terms"),
            };
            string shape = ShapeText(loss.Rows, loss.Cols);
            string gradientName = loss.PredictionGradient?.Name ?? "d_" + loss.Prediction.Name;
            string In(string k) => CudaExpressions.Load(loss.Prediction, $"in_row[{k}]"); // a logit of the row, as float
            switch (loss.Kind)
            {
                case LossKind.CrossEntropy when loss.Cols.IsKnown && loss.Cols.Value >= FusedClassifierColumns:
                    return EmitFusedClassifier(loss, arguments, shape, gradientName);

                case LossKind.CrossEntropy:
                    KernelHeader("loss_cross_entropy", loss.Origins, loss.LabelSmoothing == 0
                        ? $"softmax + cross-entropy, one warp per row of {shape}; loss_terms[row] and (when gradient is not null) {gradientName} = (softmax − onehot) / rows"
                        : $"softmax + cross-entropy with label smoothing, one warp per row of {shape}; loss_terms[row] and (when gradient is not null) {gradientName} = (softmax − ((1 − ε)·onehot + ε/cols)) / rows");
                    Signature("loss_cross_entropy", arguments);
                    _w.Open("");
                    _w.Line("int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;");
                    _w.Line("int lane = threadIdx.x % 32;");
                    _w.Line("if (row >= rows) return; // whole warps leave together: the shuffles below stay converged");
                    _w.Line($"const {CudaExpressions.ElementType(loss.Prediction)}* in_row = {Name(loss.Prediction)} + (long)row * cols;");
                    _w.Line("float row_max = -INFINITY;");
                    _w.Line($"for (int k = lane; k < cols; k += 32) row_max = fmaxf(row_max, {In("k")});");
                    _w.Line("row_max = md_warp_max(row_max);");
                    _w.Line("float row_sum = 0.0f;");
                    _w.Line($"for (int k = lane; k < cols; k += 32) row_sum += expf({In("k")} - row_max);");
                    _w.Line("row_sum = md_warp_sum(row_sum);");
                    _w.Line($"int class_id = {Name(loss.Target)}[row];");
                    if (loss.LabelSmoothing == 0)
                    {
                        _w.Line($"if (lane == 0) loss_terms[row] = row_max + logf(row_sum) - {In("class_id")}; // log Σ exp − logit of the class");
                        _w.Open("if (gradient != nullptr)");
                        _w.Line("float inv_rows = 1.0f / (float)rows;");
                        _w.Line("float inv_sum = 1.0f / row_sum;");
                        _w.Line("float* grad_row = gradient + (long)row * cols;");
                        _w.Line($"for (int k = lane; k < cols; k += 32) grad_row[k] = (expf({In("k")} - row_max) * inv_sum - (k == class_id ? 1.0f : 0.0f)) * inv_rows;");
                        _w.Close();
                    }
                    else
                    {
                        // label_smoothing ε: the target is q = (1 − ε)·onehot + ε/cols, so the term needs the row's mean logit too.
                        string epsilon = Literals.Cuda((float)loss.LabelSmoothing), keep = Literals.Cuda((float)(1 - loss.LabelSmoothing));
                        _w.Line("float row_total = 0.0f;");
                        _w.Line($"for (int k = lane; k < cols; k += 32) row_total += {In("k")};");
                        _w.Line("row_total = md_warp_sum(row_total);");
                        _w.Line($"const float smoothing = {epsilon}; // label_smoothing ε");
                        _w.Line($"if (lane == 0) loss_terms[row] = row_max + logf(row_sum) - {keep} * {In("class_id")} - smoothing * (row_total / (float)cols); // log Σ exp − (1 − ε)·logit of the class − ε·mean logit");
                        _w.Open("if (gradient != nullptr)");
                        _w.Line("float inv_rows = 1.0f / (float)rows;");
                        _w.Line("float inv_sum = 1.0f / row_sum;");
                        _w.Line("float uniform = smoothing / (float)cols;");
                        _w.Line("float* grad_row = gradient + (long)row * cols;");
                        _w.Line($"for (int k = lane; k < cols; k += 32) grad_row[k] = (expf({In("k")} - row_max) * inv_sum - (k == class_id ? {keep} : 0.0f) - uniform) * inv_rows;");
                        _w.Close();
                    }
                    _w.Close();
                    return new CudaLaunch("loss_cross_entropy", LaunchShape.WarpPerRow, loss.Rows, arguments);

                case LossKind.BceWithLogits:
                    KernelHeader("loss_bce_with_logits", loss.Origins, $"binary cross-entropy on logits, one thread per element of {shape}: max(z, 0) − z·t + log(1 + e^−|z|); gradient (σ(z) − t) / n");
                    Signature("loss_bce_with_logits", arguments);
                    _w.Open("");
                    _w.Line("long n = (long)rows * cols;");
                    _w.Line("float inv_n = 1.0f / (float)n;");
                    _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)");
                    _w.Line($"float z_i = {CudaExpressions.Load(loss.Prediction, $"{Name(loss.Prediction)}[i]")}, t_i = {Name(loss.Target)}[i]; // logit, target");
                    _w.Line("loss_terms[i] = fmaxf(z_i, 0.0f) - z_i * t_i + logf(1.0f + expf(-fabsf(z_i)));");
                    _w.Line("if (gradient != nullptr) gradient[i] = (md_sigmoid(z_i) - t_i) * inv_n;");
                    _w.Close();
                    _w.Close();
                    return new CudaLaunch("loss_bce_with_logits", LaunchShape.Elements, loss.Rows.Multiply(loss.Cols), arguments);

                default:
                    KernelHeader("loss_mse", loss.Origins, $"mean squared error, one thread per element of {shape}: (p − t)²; gradient 2(p − t) / n");
                    Signature("loss_mse", arguments);
                    _w.Open("");
                    _w.Line("long n = (long)rows * cols;");
                    _w.Line("float two_over_n = 2.0f / (float)n;");
                    _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)");
                    _w.Line($"float err_i = {CudaExpressions.Load(loss.Prediction, $"{Name(loss.Prediction)}[i]")} - {Name(loss.Target)}[i];");
                    _w.Line("loss_terms[i] = err_i * err_i;");
                    _w.Line("if (gradient != nullptr) gradient[i] = err_i * two_over_n;");
                    _w.Close();
                    _w.Close();
                    return new CudaLaunch("loss_mse", LaunchShape.Elements, loss.Rows.Multiply(loss.Cols), arguments);
            }
        }

        /// <summary>Classes from which cross-entropy gets a block per row instead of a warp (each lane would walk 32+ logits).</summary>
        internal const int FusedClassifierColumns = 1024;

        /// <summary>
        /// Cross-entropy over a wide row (a language model's vocabulary: GPT-2's 50,257), llm.c's <c>fused_classifier</c>:
        /// one block of 256 threads per row. The first read of the row keeps each thread's running max and Σexp (the
        /// online softmax: when a larger logit arrives the sum is rescaled), combined across the warp by shuffles and
        /// across the 8 warps through shared memory in a fixed order (deterministic); the second read writes the
        /// gradient, so the row is read twice and the probabilities are never stored. Label smoothing sums the row's
        /// logits in the first read too.
        /// </summary>
        private CudaLaunch EmitFusedClassifier(LossKernel loss, List<CudaArgument> arguments, string shape, string gradientName)
        {
            bool smoothing = loss.LabelSmoothing != 0;
            string In(string k) => CudaExpressions.Load(loss.Prediction, $"in_row[{k}]"); // a logit of the row, as float
            KernelHeader("loss_cross_entropy", loss.Origins, smoothing
                ? $"fused classifier, one block per row of {shape}: softmax + cross-entropy with label smoothing; loss_terms[row] and (when gradient is not null) {gradientName} = (softmax − ((1 − ε)·onehot + ε/cols)) / rows"
                : $"fused classifier, one block per row of {shape}: softmax + cross-entropy; loss_terms[row] and (when gradient is not null) {gradientName} = (softmax − onehot) / rows",
                new[]
                {
                    "read 1: each thread's running max m and Σexp(x − m) over its columns (k = thread, thread + 256, …), merged",
                    "        by warp shuffles, then the 8 warps' through shared memory; read 2: the gradient. No probabilities stored.",
                });
            Signature("loss_cross_entropy", arguments);
            _w.Open("");
            _w.Line($"__shared__ float warp_max[{BlockSize / 32}], warp_sum[{BlockSize / 32}]{(smoothing ? $", warp_total[{BlockSize / 32}]" : "")};");
            _w.Line("int row = blockIdx.x;");
            _w.Line("int lane = threadIdx.x % 32, warp = threadIdx.x / 32;");
            _w.Line($"const {CudaExpressions.ElementType(loss.Prediction)}* in_row = {Name(loss.Prediction)} + (long)row * cols;");
            _w.Line("float m = -INFINITY, s = 0.0f; // this thread's max and Σexp(x − m)");
            if (smoothing) _w.Line("float t = 0.0f; // this thread's Σ x, for label smoothing's mean logit");
            _w.Open("for (int k = threadIdx.x; k < cols; k += blockDim.x)");
            _w.Line($"float x = {In("k")};");
            _w.Line("if (x > m) { s = s * expf(m - x) + 1.0f; m = x; } else s += expf(x - m);");
            if (smoothing) _w.Line("t += x;");
            _w.Close();
            _w.Open("for (int offset = 16; offset > 0; offset >>= 1)");
            _w.Line("float m2 = __shfl_xor_sync(0xffffffffu, m, offset), s2 = __shfl_xor_sync(0xffffffffu, s, offset);");
            if (smoothing) _w.Line("t += __shfl_xor_sync(0xffffffffu, t, offset);");
            _w.Line("float both = fmaxf(m, m2);");
            _w.Line("s = (m == -INFINITY ? 0.0f : s * expf(m - both)) + (m2 == -INFINITY ? 0.0f : s2 * expf(m2 - both)); // a thread with no columns adds 0");
            _w.Line("m = both;");
            _w.Close();
            _w.Line($"if (lane == 0) {{ warp_max[warp] = m; warp_sum[warp] = s;{(smoothing ? " warp_total[warp] = t;" : "")} }}");
            _w.Line("__syncthreads();");
            _w.Line("float row_max = -INFINITY, row_sum = 0.0f;");
            _w.Line($"for (int w = 0; w < {BlockSize / 32}; w++) row_max = fmaxf(row_max, warp_max[w]);");
            _w.Line($"for (int w = 0; w < {BlockSize / 32}; w++) if (warp_max[w] != -INFINITY) row_sum += warp_sum[w] * expf(warp_max[w] - row_max);");
            _w.Line($"int class_id = {Name(loss.Target)}[row];");
            string keep = "1.0f", uniform = "0.0f";
            if (smoothing)
            {
                string epsilon = Literals.Cuda((float)loss.LabelSmoothing);
                keep = Literals.Cuda((float)(1 - loss.LabelSmoothing));
                _w.Line("float row_total = 0.0f;");
                _w.Line($"for (int w = 0; w < {BlockSize / 32}; w++) row_total += warp_total[w];");
                _w.Line($"const float smoothing = {epsilon}; // label_smoothing ε");
                _w.Line($"if (threadIdx.x == 0) loss_terms[row] = row_max + logf(row_sum) - {keep} * {In("class_id")} - smoothing * (row_total / (float)cols); // log Σ exp − (1 − ε)·logit of the class − ε·mean logit");
                uniform = "smoothing / (float)cols";
            }
            else
            {
                _w.Line($"if (threadIdx.x == 0) loss_terms[row] = row_max + logf(row_sum) - {In("class_id")}; // log Σ exp − logit of the class");
            }
            _w.Open("if (gradient != nullptr)");
            _w.Line("float inv_rows = 1.0f / (float)rows;");
            _w.Line("float inv_sum = 1.0f / row_sum;");
            if (smoothing) _w.Line($"float uniform = {uniform};");
            _w.Line("float* grad_row = gradient + (long)row * cols;");
            _w.Line($"for (int k = threadIdx.x; k < cols; k += blockDim.x) grad_row[k] = (expf({In("k")} - row_max) * inv_sum - (k == class_id ? {keep} : 0.0f){(smoothing ? " - uniform" : "")}) * inv_rows;");
            _w.Close();
            _w.Close();
            return new CudaLaunch("loss_cross_entropy", LaunchShape.BlockPerRow, loss.Rows, arguments);
        }

        /// <summary>The mean of the loss terms in one block: strided partial sums, then a tree in shared memory.</summary>
        private CudaLaunch EmitLossMean()
        {
            var arguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("const float* __restrict__", "terms"),
                CudaArgument.Special("float* __restrict__", "mean"),
            };
            _w.Line();
            _w.Line($"// loss_mean: mean[0] = Σ terms / count, one block of {BlockSize} threads (deterministic: no atomics)");
            Signature("loss_mean", arguments);
            _w.Open("");
            _w.Line($"__shared__ float partial[{BlockSize}];");
            _w.Line("float s = 0.0f;");
            _w.Line("for (int i = threadIdx.x; i < count; i += blockDim.x) s += terms[i];");
            _w.Line("partial[threadIdx.x] = s;");
            _w.Line("__syncthreads();");
            _w.Open("for (int stride = blockDim.x / 2; stride > 0; stride >>= 1)");
            _w.Line("if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];");
            _w.Line("__syncthreads();");
            _w.Close();
            _w.Line("if (threadIdx.x == 0) mean[0] = partial[0] / (float)count;");
            _w.Close();
            return new CudaLaunch("loss_mean", LaunchShape.SingleBlock, Dim.Known(1), arguments);
        }
    }
}
