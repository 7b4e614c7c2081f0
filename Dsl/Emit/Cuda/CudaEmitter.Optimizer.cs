using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Emit.Cuda
{
    public sealed partial class CudaEmitter
    {
        /// <summary>
        /// The optimizer as one launch over every parameter: the generated C# keeps all parameters in one contiguous
        /// device arena (and their gradients and optimizer state in three more), so "all tensors" is one flat range.
        /// The step-dependent scalars (learning rate, Adam's bias corrections) are computed on the host exactly as
        /// ModelDsl.Runtime's Optimizers computes them and passed in; the hyperparameters of the .model are literals.
        /// </summary>
        private CudaLaunch EmitOptimizer(OptimizerInfo optimizer)
        {
            string hyper = string.Join(", ", optimizer.Hyperparameters.Select(h => $"{h.Key}={h.Value.ToString("R", CultureInfo.InvariantCulture)}"));
            var origins = new[] { new Plan.Origin(optimizer.Span, $"optimizer {optimizer.Kind.ToSource()}({hyper})") };
            var arguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("float* __restrict__", "p"),
                CudaArgument.Special("const float* __restrict__", "g"),
            };
            if (optimizer.Kind == OptimizerKind.Sgd)
            {
                var sgd = (Ops.SgdSettings)optimizer.Settings;
                float momentum = (float)sgd.Momentum, decay = (float)sgd.WeightDecay;
                bool nesterov = sgd.Nesterov;
                arguments.Add(CudaArgument.Special("float* __restrict__", "velocity"));
                arguments.Add(CudaArgument.Special("float", "lr"));
                KernelHeader("optimizer_sgd", origins, "torch.optim.SGD over every parameter element: d = g + wd·p; buf = μ·buf + d; d = nesterov ? d + μ·buf : buf; p −= lr·d");
                Signature("optimizer_sgd", arguments);
                _w.Open("");
                _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)");
                _w.Line("float pv = p[i];");
                _w.Line($"float d = g[i] + {Literals.Cuda(decay)} * pv;");
                if (momentum != 0)
                {
                    _w.Line($"float b = {Literals.Cuda(momentum)} * velocity[i] + d;");
                    _w.Line("velocity[i] = b;");
                    _w.Line(nesterov ? $"d = d + {Literals.Cuda(momentum)} * b;" : "d = b;");
                }
                _w.Line("p[i] = pv - lr * d;");
                _w.Close();
                _w.Close();
                return new CudaLaunch("optimizer_sgd", LaunchShape.Elements, ArenaLength(), arguments);
            }

            if (optimizer.Settings is Ops.RmspropSettings rmsprop) return EmitRmsprop(rmsprop, origins, arguments);
            if (optimizer.Settings is not Ops.AdamSettings) throw new System.InvalidOperationException($"no CUDA kernel for optimizer {optimizer.Kind}");

            bool adamW = optimizer.Kind == OptimizerKind.AdamW;
            string name = adamW ? "optimizer_adamw" : "optimizer_adam";
            var adam = (Ops.AdamSettings)optimizer.Settings;
            float beta1 = (float)adam.Beta1, beta2 = (float)adam.Beta2, eps = (float)adam.Eps;
            float l2 = adamW ? 0f : (float)adam.WeightDecay;
            arguments.Add(CudaArgument.Special("float* __restrict__", "m"));
            arguments.Add(CudaArgument.Special("float* __restrict__", "v"));
            arguments.Add(CudaArgument.Special("float", "step_size"));
            arguments.Add(CudaArgument.Special("float", "bc2_sqrt"));
            arguments.Add(CudaArgument.Special("float", "decay"));
            KernelHeader(name, origins, (adamW ? "torch.optim.AdamW" : "torch.optim.Adam") +
                " over every parameter element: d = g + l2·p; m += (1 − β1)(d − m); v = β2·v + (1 − β2)·d²; p = p·decay − step_size · m / (√v / bc2_sqrt + eps)");
            _w.Line("// step_size = lr / (1 − β1^step) and bc2_sqrt = √(1 − β2^step) come from the host (computed in double, as PyTorch");
            _w.Line(adamW ? "// does); decay = 1 − lr·weight_decay is AdamW's decoupled weight decay." : "// does); Adam's weight decay is L2 (l2 below), so decay is 1.");
            Signature(name, arguments);
            _w.Open("");
            _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)");
            _w.Line("float pv = p[i];");
            _w.Line($"float d = g[i] + {Literals.Cuda(l2)} * pv;");
            _w.Line("float mv = m[i];");
            _w.Line($"mv += {Literals.Cuda(1f - beta1)} * (d - mv);");
            _w.Line($"float vv = {Literals.Cuda(beta2)} * v[i] + {Literals.Cuda(1f - beta2)} * (d * d);");
            _w.Line("m[i] = mv;");
            _w.Line("v[i] = vv;");
            _w.Line($"float denom = sqrtf(vv) / bc2_sqrt + {Literals.Cuda(eps)};");
            _w.Line("p[i] = pv * decay - step_size * (mv / denom);");
            _w.Close();
            _w.Close();
            return new CudaLaunch(name, LaunchShape.Elements, ArenaLength(), arguments);
        }

        /// <summary>
        /// torch.optim.RMSprop, element by element as <c>Optimizers.Rmsprop</c> on the CPU (the same float operations in the
        /// same order). State 1 is square_avg; state 2 is momentum_buffer with momentum, or grad_avg when centered (the binder
        /// refuses both at once), and is not an argument when neither is on.
        /// </summary>
        private CudaLaunch EmitRmsprop(Ops.RmspropSettings rmsprop, Plan.Origin[] origins, List<CudaArgument> arguments)
        {
            float alpha = (float)rmsprop.Alpha, eps = (float)rmsprop.Eps, decay = (float)rmsprop.WeightDecay, momentum = (float)rmsprop.Momentum;
            arguments.Add(CudaArgument.Special("float* __restrict__", "square_avg"));
            if (momentum != 0) arguments.Add(CudaArgument.Special("float* __restrict__", "momentum_buffer"));
            if (rmsprop.Centered) arguments.Add(CudaArgument.Special("float* __restrict__", "grad_avg"));
            arguments.Add(CudaArgument.Special("float", "lr"));
            KernelHeader("optimizer_rmsprop", origins, "torch.optim.RMSprop over every parameter element: d = g + wd·p; sq = α·sq + (1 − α)·d²; "
                + (rmsprop.Centered ? "ga += (1 − α)(d − ga); avg = √max(sq − ga², 0) + eps; " : "avg = √sq + eps; ")
                + (momentum != 0 ? "buf = μ·buf + d / avg; p −= lr·buf" : "p −= lr · d / avg"));
            Signature("optimizer_rmsprop", arguments);
            _w.Open("");
            _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)");
            _w.Line("float pv = p[i];");
            _w.Line($"float d = g[i] + {Literals.Cuda(decay)} * pv;");
            _w.Line($"float sq = {Literals.Cuda(alpha)} * square_avg[i] + {Literals.Cuda(1f - alpha)} * (d * d);");
            _w.Line("square_avg[i] = sq;");
            if (rmsprop.Centered)
            {
                _w.Line("float ga = grad_avg[i];");
                _w.Line($"ga += {Literals.Cuda(1f - alpha)} * (d - ga);");
                _w.Line("grad_avg[i] = ga;");
                _w.Line("// sq − ga² ≥ 0 in exact arithmetic; a rounding-negative difference counts as 0 (PyTorch's sqrt would give NaN).");
                _w.Line($"float avg = sqrtf(fmaxf(sq - ga * ga, 0.0f)) + {Literals.Cuda(eps)};");
            }
            else _w.Line($"float avg = sqrtf(sq) + {Literals.Cuda(eps)};");
            if (momentum != 0)
            {
                _w.Line($"float b = {Literals.Cuda(momentum)} * momentum_buffer[i] + d / avg;");
                _w.Line("momentum_buffer[i] = b;");
                _w.Line("p[i] = pv - lr * b;");
            }
            else _w.Line("p[i] = pv - lr * (d / avg);");
            _w.Close();
            _w.Close();
            return new CudaLaunch("optimizer_rmsprop", LaunchShape.Elements, ArenaLength(), arguments);
        }

        /// <summary>
        /// <c>gradient_sum_of_squares</c>: Σ g² over the whole gradient arena (its padding is zero) into one float, so the host
        /// checks every gradient for NaN and ±∞ by reading back a single value, like the loss. One block, a fixed order of
        /// additions: the same sum every run. The host needs the exact element only on failure, and then copies the gradients.
        /// </summary>
        private CudaLaunch EmitGradientSumOfSquares()
        {
            var arguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("const float* __restrict__", "g"),
                CudaArgument.Special("float* __restrict__", "sum_sq"),
            };
            _w.Line($"// gradient_sum_of_squares: sum_sq[0] = Σ g² over every gradient element, one block of {BlockSize} threads (deterministic: no atomics).");
            _w.Line("// A NaN or ±∞ gradient makes the sum non-finite: the host reads this one float back before the optimizer runs.");
            Signature("gradient_sum_of_squares", arguments);
            _w.Open("");
            _w.Line($"__shared__ float partial[{BlockSize}];");
            _w.Line("float s = 0.0f;");
            _w.Line("for (long i = threadIdx.x; i < count; i += blockDim.x) s += g[i] * g[i];");
            _w.Line("partial[threadIdx.x] = s;");
            _w.Line("__syncthreads();");
            _w.Open("for (int stride = blockDim.x / 2; stride > 0; stride >>= 1)");
            _w.Line("if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];");
            _w.Line("__syncthreads();");
            _w.Close();
            _w.Line("if (threadIdx.x == 0) sum_sq[0] = partial[0];");
            _w.Close();
            return new CudaLaunch("gradient_sum_of_squares", LaunchShape.SingleBlock, Shapes.Dim.Known(1), arguments);
        }

        /// <summary>The optimizer runs over the whole parameter arena, alignment padding included.</summary>
        private Shapes.Dim ArenaLength() => Shapes.Dim.Known(ParameterArena.For(_plan).Length);
    }
}
