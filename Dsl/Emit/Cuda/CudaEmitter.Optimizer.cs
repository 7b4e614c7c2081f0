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
        /// <param name="perGroup">
        /// The model declares parameter groups: one launch still covers the arena; each element finds its group from the
        /// arena's runs (<see cref="EmitGroupTable"/>) and takes that group's values, which are arguments (<c>lr_1</c>,
        /// <c>step_size_1</c>, <c>decay_1</c>, <c>weight_decay_1</c>, ...) rather than literals.
        /// </param>
        private CudaLaunch EmitOptimizer(OptimizerInfo optimizer, bool perGroup)
        {
            string hyper = string.Join(", ", optimizer.Hyperparameters.Select(h => $"{h.Key}={h.Value.ToString("R", CultureInfo.InvariantCulture)}"));
            var origins = new[] { new Plan.Origin(optimizer.Span, $"optimizer {optimizer.Kind.ToSource()}({hyper})") };
            var arguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("float* __restrict__", "p"),
                CudaArgument.Special("const float* __restrict__", "g"),
            };
            WithBf16Copy(arguments);
            if (optimizer.Kind == OptimizerKind.Sgd)
            {
                var sgd = (Ops.SgdSettings)optimizer.Settings;
                float momentum = (float)sgd.Momentum, decay = (float)sgd.WeightDecay;
                bool nesterov = sgd.Nesterov;
                arguments.Add(CudaArgument.Special("float* __restrict__", "velocity"));
                if (perGroup) AddGroupArguments(arguments, "lr", "weight_decay");
                else arguments.Add(CudaArgument.Special("float", "lr"));
                KernelHeader("optimizer_sgd", origins, "torch.optim.SGD over every parameter element: d = g + wd·p; buf = μ·buf + d; d = nesterov ? d + μ·buf : buf; p −= lr·d");
                if (perGroup) EmitGroupTable();
                Signature("optimizer_sgd", arguments);
                _w.Open("");
                _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)");
                if (perGroup) EmitGroupLookup("lr", "weight_decay");
                _w.Line("float pv = p[i];");
                _w.Line($"float d = g[i] + {(perGroup ? "weight_decay" : Literals.Cuda(decay))} * pv;");
                if (momentum != 0)
                {
                    _w.Line($"float b = {Literals.Cuda(momentum)} * velocity[i] + d;");
                    _w.Line("velocity[i] = b;");
                    _w.Line(nesterov ? $"d = d + {Literals.Cuda(momentum)} * b;" : "d = b;");
                }
                _w.Line("p[i] = pv - lr * d;");
                EmitBf16Copy();
                _w.Close();
                _w.Close();
                return new CudaLaunch("optimizer_sgd", LaunchShape.Elements, ArenaLength(), arguments);
            }

            if (optimizer.Settings is Ops.RmspropSettings rmsprop) return EmitRmsprop(rmsprop, origins, arguments, perGroup);
            if (optimizer.Settings is not Ops.AdamSettings) throw new System.InvalidOperationException($"no CUDA kernel for optimizer {optimizer.Kind}");

            bool adamW = optimizer.Kind == OptimizerKind.AdamW;
            string name = adamW ? "optimizer_adamw" : "optimizer_adam";
            var adam = (Ops.AdamSettings)optimizer.Settings;
            float beta1 = (float)adam.Beta1, beta2 = (float)adam.Beta2, eps = (float)adam.Eps;
            float l2 = adamW ? 0f : (float)adam.WeightDecay;
            arguments.Add(CudaArgument.Special("float* __restrict__", "m"));
            arguments.Add(CudaArgument.Special("float* __restrict__", "v"));
            // With groups: Adam's L2 weight decay and AdamW's decay factor 1 − lr·wd are each group's, as is the step size.
            string[] groupValues = adamW ? new[] { "step_size", "decay" } : new[] { "step_size", "weight_decay" };
            bool l2Argument = perGroup && !adamW;
            if (perGroup) AddGroupArguments(arguments, groupValues);
            else arguments.Add(CudaArgument.Special("float", "step_size"));
            arguments.Add(CudaArgument.Special("float", "bc2_sqrt"));
            if (!perGroup) arguments.Add(CudaArgument.Special("float", "decay"));
            KernelHeader(name, origins, (adamW ? "torch.optim.AdamW" : "torch.optim.Adam") +
                " over every parameter element: d = g + l2·p; m += (1 − β1)(d − m); v = β2·v + (1 − β2)·d²; p = p·decay − step_size · m / (√v / bc2_sqrt + eps)");
            _w.Line("// step_size = lr / (1 − β1^step) and bc2_sqrt = √(1 − β2^step) come from the host (computed in double, as PyTorch");
            _w.Line(adamW ? "// does); decay = 1 − lr·weight_decay is AdamW's decoupled weight decay."
                : perGroup ? "// does); Adam's weight decay is L2 (l2 above: each group's weight_decay), so decay is 1."
                : "// does); Adam's weight decay is L2 (l2 below), so decay is 1.");
            if (perGroup) EmitGroupTable();
            Signature(name, arguments);
            _w.Open("");
            _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)");
            if (perGroup) EmitGroupLookup(groupValues);
            if (perGroup && !adamW) _w.Line("const float decay = 1.0f;");
            _w.Line("float pv = p[i];");
            _w.Line($"float d = g[i] + {(l2Argument ? "weight_decay" : Literals.Cuda(l2))} * pv;");
            _w.Line("float mv = m[i];");
            _w.Line($"mv += {Literals.Cuda(1f - beta1)} * (d - mv);");
            _w.Line($"float vv = {Literals.Cuda(beta2)} * v[i] + {Literals.Cuda(1f - beta2)} * (d * d);");
            _w.Line("m[i] = mv;");
            _w.Line("v[i] = vv;");
            _w.Line($"float denom = sqrtf(vv) / bc2_sqrt + {Literals.Cuda(eps)};");
            _w.Line("p[i] = pv * decay - step_size * (mv / denom);");
            EmitBf16Copy();
            _w.Close();
            _w.Close();
            return new CudaLaunch(name, LaunchShape.Elements, ArenaLength(), arguments);
        }

        /// <summary>Precision bf16: the optimizer also writes the BF16 copy of each parameter it updates (the GEMMs' operand).</summary>
        private bool Bf16Copy => _plan.Model.Precision.Mode == Precision.Bf16;

        /// <summary>The <c>p_bf16</c> argument after <c>p</c> and <c>g</c> (precision bf16 only).</summary>
        private void WithBf16Copy(List<CudaArgument> arguments)
        {
            if (Bf16Copy) arguments.Add(CudaArgument.Special("md_bf16* __restrict__", "p_bf16"));
        }

        /// <summary>
        /// Fused AdamW (or SGD, RMSprop) over BF16 parameters with FP32 master copies: p stays the FP32 master, and the
        /// same thread stores its BF16 rounding, which the next step's matrix products read (precision bf16 only).
        /// </summary>
        private void EmitBf16Copy()
        {
            if (Bf16Copy) _w.Line("p_bf16[i] = md_bf16_from_float(p[i]); // the BF16 copy the GEMMs read; p stays the FP32 master");
        }

        /// <summary>
        /// torch.optim.RMSprop, element by element as <c>Optimizers.Rmsprop</c> on the CPU (the same float operations in the
        /// same order). State 1 is square_avg; state 2 is momentum_buffer with momentum, or grad_avg when centered (the binder
        /// refuses both at once), and is not an argument when neither is on.
        /// </summary>
        private CudaLaunch EmitRmsprop(Ops.RmspropSettings rmsprop, Plan.Origin[] origins, List<CudaArgument> arguments, bool perGroup)
        {
            float alpha = (float)rmsprop.Alpha, eps = (float)rmsprop.Eps, decay = (float)rmsprop.WeightDecay, momentum = (float)rmsprop.Momentum;
            arguments.Add(CudaArgument.Special("float* __restrict__", "square_avg"));
            if (momentum != 0) arguments.Add(CudaArgument.Special("float* __restrict__", "momentum_buffer"));
            if (rmsprop.Centered) arguments.Add(CudaArgument.Special("float* __restrict__", "grad_avg"));
            if (perGroup) AddGroupArguments(arguments, "lr", "weight_decay");
            else arguments.Add(CudaArgument.Special("float", "lr"));
            KernelHeader("optimizer_rmsprop", origins, "torch.optim.RMSprop over every parameter element: d = g + wd·p; sq = α·sq + (1 − α)·d²; "
                + (rmsprop.Centered ? "ga += (1 − α)(d − ga); avg = √max(sq − ga², 0) + eps; " : "avg = √sq + eps; ")
                + (momentum != 0 ? "buf = μ·buf + d / avg; p −= lr·buf" : "p −= lr · d / avg"));
            if (perGroup) EmitGroupTable();
            Signature("optimizer_rmsprop", arguments);
            _w.Open("");
            _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)");
            if (perGroup) EmitGroupLookup("lr", "weight_decay");
            _w.Line("float pv = p[i];");
            _w.Line($"float d = g[i] + {(perGroup ? "weight_decay" : Literals.Cuda(decay))} * pv;");
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
            EmitBf16Copy();
            _w.Close();
            _w.Close();
            return new CudaLaunch("optimizer_rmsprop", LaunchShape.Elements, ArenaLength(), arguments);
        }

        /// <summary>The parameter groups' count (group 0, the parameters in no group, included).</summary>
        private int GroupCount => _plan.Model.Controls.Groups.Count + 1;

        /// <summary>One float argument per group for each of <paramref name="values"/>: <c>lr_0, weight_decay_0, lr_1, ...</c>.</summary>
        private void AddGroupArguments(List<CudaArgument> arguments, params string[] values)
        {
            for (int g = 0; g < GroupCount; g++)
                foreach (var value in values) arguments.Add(CudaArgument.Special("float", $"{value}_{g}"));
        }

        /// <summary>
        /// The arena's runs of one parameter group as constant tables (<c>optimizer_run_end</c>, <c>optimizer_run_group</c>),
        /// each run named in a comment, so one launch over the arena updates every parameter with its group's values.
        /// </summary>
        private void EmitGroupTable()
        {
            var controls = _plan.Model.Controls;
            var runs = ParameterArena.For(_plan).GroupRuns(_plan, controls);
            _w.Line("// Parameter groups: element i is in the run r of the arena with optimizer_run_end[r − 1] ≤ i < optimizer_run_end[r], of group");
            _w.Line("// optimizer_run_group[r] (0: no group; −1: frozen, not updated); each group's values are the arguments suffixed with its index:");
            for (int g = 1; g < GroupCount; g++)
                _w.Line($"//   {g}: group {controls.Groups[g - 1].Name} ({_fileName}:{Line(controls.Groups[g - 1].Span)}: {controls.Groups[g - 1].Describe()})");
            _w.Line("// runs:");
            foreach (var (start, end, first, last, group) in runs)
                _w.Line($"//   [{start}, {end}) {(first == last ? first : first + " .. " + last)}: {(group < 0 ? "frozen" : group == 0 ? "no group" : "group " + controls.Groups[group - 1].Name)}");
            _w.Line($"__constant__ long optimizer_run_end[{runs.Count}] = {{ {string.Join(", ", runs.Select(r => r.End))} }};");
            _w.Line($"__constant__ signed char optimizer_run_group[{runs.Count}] = {{ {string.Join(", ", runs.Select(r => r.Group))} }};");
        }

        /// <summary>Inside the element loop: the element's run (a binary search over the run ends), its group, and that group's <paramref name="values"/>.</summary>
        private void EmitGroupLookup(params string[] values)
        {
            int runs = ParameterArena.For(_plan).GroupRuns(_plan, _plan.Model.Controls).Count;
            _w.Line($"int lo = 0, hi = {runs - 1}; // the first run that ends above i");
            _w.Open("while (lo < hi)");
            _w.Line("int mid = (lo + hi) >> 1;");
            _w.Line("if (optimizer_run_end[mid] > i) hi = mid; else lo = mid + 1;");
            _w.Close();
            _w.Line("int group = optimizer_run_group[lo];");
            _w.Line("if (group < 0) continue; // frozen");
            foreach (var value in values)
            {
                string select = $"{value}_{GroupCount - 1}";
                for (int g = GroupCount - 2; g >= 0; g--) select = $"group == {g} ? {value}_{g} : {select}";
                _w.Line($"float {value} = {select};");
            }
        }

        /// <summary>
        /// Σ g² over the whole gradient arena (its padding is zero) into one float, in two deterministic passes: the host
        /// reads that one value back to check every gradient for NaN and ±∞ (like the loss) and, with
        /// <c>clip_grad_norm</c>, to compute the clipping factor. <c>gradient_sum_of_squares_partials</c> runs
        /// <see cref="GradientPartialCount"/> blocks, each summing a grid-strided share into one partial;
        /// <c>gradient_sum_of_squares</c> adds the partials in one block. The block count is fixed per model (from the
        /// arena's length), so the order of additions, and the sum, is the same every run.
        /// </summary>
        private (CudaLaunch Partials, CudaLaunch Total) EmitGradientSumOfSquares()
        {
            var partialArguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("const float* __restrict__", "g"),
                CudaArgument.Special("float* __restrict__", "partials"),
            };
            int parts = GradientPartialCount;
            _w.Line($"// gradient_sum_of_squares_partials: partials[b] = Σ g² over block b's grid-strided share of the gradients; {parts} block(s) of {BlockSize} threads.");
            _w.Line("// A NaN or ±∞ gradient makes its partial, and so the total, non-finite.");
            Signature("gradient_sum_of_squares_partials", partialArguments);
            _w.Open("");
            _w.Line($"__shared__ float partial[{BlockSize}];");
            _w.Line("float s = 0.0f;");
            _w.Line("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x) s += g[i] * g[i];");
            EmitBlockSum("partials[blockIdx.x]");
            _w.Close();
            _w.Line();

            var totalArguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "parts"),
                CudaArgument.Special("const float* __restrict__", "partials"),
                CudaArgument.Special("float* __restrict__", "sum_sq"),
            };
            _w.Line("// gradient_sum_of_squares: sum_sq[0] = Σ partials, one block (a fixed order of additions: no atomics).");
            Signature("gradient_sum_of_squares", totalArguments);
            _w.Open("");
            _w.Line($"__shared__ float partial[{BlockSize}];");
            _w.Line("float s = 0.0f;");
            _w.Line("for (int i = threadIdx.x; i < parts; i += blockDim.x) s += partials[i];");
            EmitBlockSum("sum_sq[0]");
            _w.Close();
            return (new CudaLaunch("gradient_sum_of_squares_partials", LaunchShape.Elements, Shapes.Dim.Known((long)parts * BlockSize), partialArguments),
                new CudaLaunch("gradient_sum_of_squares", LaunchShape.SingleBlock, Shapes.Dim.Known(1), totalArguments));
        }

        /// <summary>Each thread's <c>s</c> summed over the block by a shared-memory tree; thread 0 stores it in <paramref name="target"/>.</summary>
        private void EmitBlockSum(string target)
        {
            _w.Line("partial[threadIdx.x] = s;");
            _w.Line("__syncthreads();");
            _w.Open("for (int stride = blockDim.x / 2; stride > 0; stride >>= 1)");
            _w.Line("if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];");
            _w.Line("__syncthreads();");
            _w.Close();
            _w.Line($"if (threadIdx.x == 0) {target} = partial[0];");
        }

        /// <summary>
        /// Blocks of the first Σ g² pass: about 16 elements per thread, at least 1 and at most 1,024 blocks (the second
        /// pass's single block then adds at most 4 partials per thread).
        /// </summary>
        internal int GradientPartialCount
        {
            get
            {
                long perBlock = 16L * BlockSize;
                return (int)System.Math.Max(1, System.Math.Min(1024, (ParameterArena.For(_plan).Length + perBlock - 1) / perBlock));
            }
        }

        /// <summary>
        /// <c>gradient_scale</c> for <c>clip_grad_norm</c>: every gradient element times the clipping factor, which the host
        /// computes from the Σ g² it read back (<c>GradientClipping.Coefficient</c>, as on the CPU).
        /// </summary>
        private CudaLaunch EmitGradientScale(GradientClip clip)
        {
            var arguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("float* __restrict__", "g"),
                CudaArgument.Special("float", "scale"),
            };
            var origins = new[] { new Plan.Origin(clip.Span, $"clip_grad_norm({clip.MaxNorm.ToString("R", CultureInfo.InvariantCulture)})") };
            KernelHeader("gradient_scale", origins, "torch.nn.utils.clip_grad_norm_: g *= scale, scale = max_norm / (‖g‖ + 1e-6) from the host when ‖g‖ > max_norm");
            Signature("gradient_scale", arguments);
            _w.Open("");
            _w.Line("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x) g[i] *= scale;");
            _w.Close();
            return new CudaLaunch("gradient_scale", LaunchShape.Elements, ArenaLength(), arguments);
        }

        /// <summary><c>gradient_clear</c> for <c>freeze</c>: zeroes a frozen range of the gradient arena (the launch passes its start).</summary>
        private CudaLaunch EmitGradientClear(Text.TextSpan span)
        {
            var arguments = new List<CudaArgument>
            {
                CudaArgument.Special("int", "count"),
                CudaArgument.Special("float* __restrict__", "g"),
            };
            KernelHeader("gradient_clear", new[] { new Plan.Origin(span, "freeze") }, "frozen parameters: g = 0 over a range of the gradient arena, so clipping and the optimizer see no gradient there");
            Signature("gradient_clear", arguments);
            _w.Open("");
            _w.Line("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x) g[i] = 0.0f;");
            _w.Close();
            return new CudaLaunch("gradient_clear", LaunchShape.Elements, ArenaLength(), arguments);
        }

        /// <summary>The optimizer runs over the whole parameter arena, alignment padding included.</summary>
        private Shapes.Dim ArenaLength() => Shapes.Dim.Known(ParameterArena.For(_plan).Length);
    }
}
