using System.Collections.Generic;
using System.Linq;
using ModelDsl.Plan;

namespace ModelDsl.Emit.Cuda
{
    public sealed partial class CudaEmitter
    {
        /// <summary>Rows each 32-column block of a column-sum kernel strides over (blockDim.y).</summary>
        private const int ColumnBlockRows = 8;

        /// <summary>
        /// An elementwise group, or, where a cuBLASLt epilogue does its work (<see cref="CublasLtEpilogues"/>), its formulas
        /// under a comment saying which GEMM's epilogue computes them instead: no kernel.
        /// </summary>
        private void EmitElementwiseOrEpilogue(ElementwiseKernel kernel)
        {
            if (_residualNorms.TryGetValue(kernel, out var norm))
            {
                EmitElementwiseLayerNorm(kernel, norm);
                return;
            }
            if (!_epilogues.TryGetValue(kernel, out var epilogue))
            {
                EmitElementwise(kernel);
                return;
            }
            KernelHeader(kernel.Name, kernel.Origins, $"no kernel: cuBLASLt's {CublasLtName(epilogue.Kind)} epilogue on {epilogue.Gemm.Name}'s product computes", kernel.Formulas());
        }

        /// <summary>The <c>CUBLASLT_EPILOGUE_*</c> name of an epilogue, without the prefix.</summary>
        internal static string CublasLtName(EpilogueKind kind) => kind switch
        {
            EpilogueKind.Bias => "BIAS",
            EpilogueKind.GeluAuxBias => "GELU_AUX_BIAS",
            EpilogueKind.GeluGradientBiasGradient => "DGELU_BGRAD",
            _ => "BGRADB",
        };

        /// <summary>
        /// One fused elementwise group. Without a column sum: one thread per element, grid-stride. With one (a bias
        /// gradient): a 32×8 block per 32 columns; each thread walks every 8th row of its column, keeping the
        /// elementwise outputs in the same pass, and the block adds its 8 partial sums through shared memory, so the
        /// sum is deterministic (no atomics).
        /// </summary>
        private void EmitElementwise(ElementwiseKernel kernel)
        {
            var targets = kernel.Outputs.Select(o => o.Target).Concat(kernel.ColumnSums.Select(s => s.Target)).Distinct().ToList();
            var loads = kernel.Outputs.SelectMany(o => Loads(o.Value)).Concat(kernel.ColumnSums.SelectMany(s => Loads(s.Value)))
                .Distinct().Where(b => !targets.Contains(b)).ToList();
            var slots = kernel.Outputs.Select(o => o.Value).Concat(kernel.ColumnSums.Select(s => s.Value))
                .SelectMany(e => ExprWalker.Nodes(e).OfType<DropoutMaskExpr>()).Select(m => m.Slot).Distinct().OrderBy(s => s).ToList();

            var arguments = new List<CudaArgument> { CudaArgument.SizeOf("rows", kernel.Rows), CudaArgument.SizeOf("cols", kernel.Cols) };
            arguments.AddRange(loads.Select(b => Pointer(b, writable: false)));
            arguments.AddRange(targets.Select(b => Pointer(b, writable: true)));
            foreach (int slot in slots)
            {
                arguments.Add(CudaArgument.Dropout(ArgumentKind.DropoutSeed, slot));
                arguments.Add(CudaArgument.Dropout(ArgumentKind.DropoutProbability, slot));
                arguments.Add(CudaArgument.Dropout(ArgumentKind.DropoutScale, slot));
            }

            bool columnSums = kernel.ColumnSums.Count > 0;
            string shape = ShapeText(kernel.Rows, kernel.Cols);
            KernelHeader(kernel.Name, kernel.Origins, (columnSums ? "one 32×8 block per 32 columns of " : "one thread per element of ") + shape + ":", kernel.Formulas());
            Signature(kernel.Name, arguments);
            _w.Open("");
            var renderer = new ExpressionRenderer(CudaExpressions.Kernel(Name));
            var results = kernel.Outputs.Select(o => renderer.Render(o.Value)).ToList();
            var sums = kernel.ColumnSums.Select(s => renderer.Render(s.Value)).ToList();

            if (!columnSums)
            {
                _w.Line("long n = (long)rows * cols;");
                _w.Open("for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)");
                if (UsesColumn(kernel)) _w.Line("int c = (int)(i % cols);");
                foreach (var line in renderer.Lines) _w.Line(line);
                WriteOutputs(kernel, results);
                _w.Close();
            }
            else
            {
                for (int k = 0; k < sums.Count; k++) _w.Line($"__shared__ float partial{k}[{ColumnBlockRows}][33]; // +1 column: no shared-memory bank conflicts");
                _w.Line("int c = blockIdx.x * 32 + threadIdx.x;");
                for (int k = 0; k < sums.Count; k++) _w.Line($"float sum{k} = 0.0f;");
                _w.Open("if (c < cols)");
                _w.Open($"for (int r = threadIdx.y; r < rows; r += {ColumnBlockRows})");
                _w.Line("long i = (long)r * cols + c;");
                foreach (var line in renderer.Lines) _w.Line(line);
                WriteOutputs(kernel, results);
                for (int k = 0; k < sums.Count; k++) _w.Line($"sum{k} += {sums[k]};");
                _w.Close();
                _w.Close();
                for (int k = 0; k < sums.Count; k++) _w.Line($"partial{k}[threadIdx.y][threadIdx.x] = sum{k};");
                _w.Line("__syncthreads();");
                _w.Open("if (threadIdx.y == 0 && c < cols)");
                for (int k = 0; k < sums.Count; k++)
                {
                    var sum = kernel.ColumnSums[k];
                    _w.Line($"float total{k} = 0.0f;");
                    _w.Line($"for (int part = 0; part < {ColumnBlockRows}; part++) total{k} += partial{k}[part][threadIdx.x];");
                    _w.Line(CudaExpressions.Store(sum.Target, $"{Name(sum.Target)}[c]", $"total{k}", sum.Accumulate));
                }
                _w.Close();
            }
            _w.Close();

            _launches[kernel] = new CudaLaunch(kernel.Name, columnSums ? LaunchShape.ColumnBlocks : LaunchShape.Elements,
                columnSums ? kernel.Cols : kernel.Rows.Multiply(kernel.Cols), arguments);
        }

        /// <summary>
        /// The elementwise kernels a layer_norm follows directly, each with that layer norm: the residual stream's
        /// <c>x + y</c> (with whatever the chain fuses before it: bias, dropout) written and normalised in one kernel, so the
        /// layer norm's read of the sum comes from the warp's own writes rather than another pass over memory (llm.c's
        /// fused residual + layer norm). The match is exact: no column sums, the sum assigned (not accumulated), the rows
        /// and width the layer norm's, none of the layer norm's buffers among the chain's, no cuBLASLt epilogue on it, and both in
        /// the same recomputed block instance or in none.
        /// </summary>
        private static Dictionary<Kernel, LayerNormKernel> ResidualNorms(TrainingPlan plan, IReadOnlyDictionary<Kernel, CublasLtEpilogue> epilogues)
        {
            var found = new Dictionary<Kernel, LayerNormKernel>();
            for (int i = 0; i + 1 < plan.Forward.Count; i++)
            {
                if (plan.Forward[i] is not ElementwiseKernel e || plan.Forward[i + 1] is not LayerNormKernel l || epilogues.ContainsKey(e)) continue;
                // A recomputed block's forward runs again alone (recompute Block): a launch must not reach into the next block.
                if (plan.RecomputedInstanceOf(e) != plan.RecomputedInstanceOf(l)) continue;
                if (e.ColumnSums.Count > 0 || !e.Rows.Equals(l.Rows) || !e.Cols.IsKnown || e.Cols.Value != l.Dim) continue;
                var sum = e.Outputs.FirstOrDefault(o => o.Target.Root == l.Input.Root);
                if (sum is null || sum.Accumulate || sum.Target != l.Input) continue;
                var chain = e.Outputs.Select(o => o.Target).Concat(e.Outputs.SelectMany(o => Loads(o.Value))).Select(b => b.Root).ToList();
                if (new[] { l.Weight, l.Bias, l.Output, l.Mean, l.Rstd }.Any(b => chain.Contains(b.Root))) continue;
                found[e] = l;
                found[l] = l;
            }
            return found;
        }

        /// <summary>
        /// A forward elementwise group and the layer_norm that reads its sum, as one kernel: one warp per row (8 rows per
        /// block). Each lane evaluates the chain at its columns (c = lane, lane + 32, …), writes every output of the chain
        /// and adds the sum to its Σ x; the layer norm then reads the row back from the lane's own writes (Σ (x − mean)²,
        /// then y), with the library kernel's formulas (two passes for the variance, as the CPU).
        /// </summary>
        private void EmitElementwiseLayerNorm(ElementwiseKernel kernel, LayerNormKernel norm)
        {
            var targets = kernel.Outputs.Select(o => o.Target).Distinct().ToList();
            var loads = kernel.Outputs.SelectMany(o => Loads(o.Value)).Distinct().Where(b => !targets.Contains(b)).ToList();
            var slots = kernel.Outputs.Select(o => o.Value).SelectMany(e => ExprWalker.Nodes(e).OfType<DropoutMaskExpr>()).Select(m => m.Slot).Distinct().OrderBy(s => s).ToList();
            var arguments = new List<CudaArgument> { CudaArgument.SizeOf("rows", kernel.Rows), CudaArgument.SizeOf("cols", kernel.Cols) };
            arguments.AddRange(loads.Select(b => Pointer(b, writable: false)));
            arguments.Add(Pointer(norm.Weight, writable: false));
            arguments.Add(Pointer(norm.Bias, writable: false));
            arguments.AddRange(targets.Select(b => Pointer(b, writable: true)));
            arguments.Add(Pointer(norm.Output, writable: true));
            arguments.Add(Pointer(norm.Mean, writable: true));
            arguments.Add(Pointer(norm.Rstd, writable: true));
            foreach (int slot in slots)
            {
                arguments.Add(CudaArgument.Dropout(ArgumentKind.DropoutSeed, slot));
                arguments.Add(CudaArgument.Dropout(ArgumentKind.DropoutProbability, slot));
                arguments.Add(CudaArgument.Dropout(ArgumentKind.DropoutScale, slot));
            }

            string name = kernel.Name + "_layer_norm";
            string x = Name(norm.Input), weight = Name(norm.Weight), bias = Name(norm.Bias);
            var formulas = kernel.Formulas().Concat(new[]
            {
                $"{norm.Output.Name} = ({norm.Input.Name} − mean)·rstd·{norm.Weight.Name} + {norm.Bias.Name} over each row; {norm.Mean.Name}, {norm.Rstd.Name} kept for the backward",
            });
            KernelHeader(name, kernel.Origins.Concat(norm.Origins), $"fused residual + layer norm, one warp per row of {ShapeText(kernel.Rows, kernel.Cols)}:", formulas);
            Signature(name, arguments);
            _w.Open("");
            var renderer = new ExpressionRenderer(CudaExpressions.Kernel(Name));
            var results = kernel.Outputs.Select(o => renderer.Render(o.Value)).ToList();
            int sumIndex = kernel.Outputs.ToList().FindIndex(o => o.Target == norm.Input);
            _w.Line("int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;");
            _w.Line("int lane = threadIdx.x % 32;");
            _w.Line("if (row >= rows) return; // whole warps leave together: the shuffles below stay converged");
            _w.Line("float sum = 0.0f;");
            _w.Open("for (int c = lane; c < cols; c += 32)");
            _w.Line("long i = (long)row * cols + c;");
            foreach (var line in renderer.Lines) _w.Line(line);
            WriteOutputs(kernel, results);
            // The sum as stored (md_act: rounded in a Bf16 session, so the mean is that of the x the backward reads).
            _w.Line(ActivationStorage.IsActivation(norm.Input) ? $"sum += md_load(md_act_from({results[sumIndex]}));" : $"sum += {results[sumIndex]};");
            _w.Close();
            _w.Line("float m = md_warp_sum(sum) / (float)cols;");
            _w.Line($"const {CudaExpressions.ElementType(norm.Input)}* x_row = {x} + (long)row * cols; // this lane's own writes above");
            _w.Line("float squares = 0.0f;");
            _w.Open("for (int c = lane; c < cols; c += 32)");
            _w.Line($"float centred = {CudaExpressions.Load(norm.Input, "x_row[c]")} - m;");
            _w.Line("squares += centred * centred;");
            _w.Close();
            _w.Line($"float s = 1.0f / sqrtf(md_warp_sum(squares) / (float)cols + {Literals.Cuda(norm.Epsilon)}); // the layer norm's eps");
            _w.Line($"{CudaExpressions.ElementType(norm.Output)}* y_row = {Name(norm.Output)} + (long)row * cols;");
            _w.Line($"for (int c = lane; c < cols; c += 32) {CudaExpressions.Store(norm.Output, "y_row[c]", $"({CudaExpressions.Load(norm.Input, "x_row[c]")} - m) * s * {weight}[c] + {bias}[c]", accumulate: false)}");
            _w.Open("if (lane == 0)");
            _w.Line($"{Name(norm.Mean)}[row] = m;");
            _w.Line($"{Name(norm.Rstd)}[row] = s;");
            _w.Close();
            _w.Close();
            _launches[kernel] = new CudaLaunch(name, LaunchShape.WarpPerRow, kernel.Rows, arguments);
        }

        private void WriteOutputs(ElementwiseKernel kernel, IReadOnlyList<string> results)
        {
            for (int k = 0; k < kernel.Outputs.Count; k++)
            {
                var o = kernel.Outputs[k];
                _w.Line(CudaExpressions.Store(o.Target, $"{Name(o.Target)}[i]", results[k], o.Accumulate));
            }
        }

        private static bool UsesColumn(ElementwiseKernel kernel) =>
            kernel.Outputs.Select(o => o.Value).Concat(kernel.ColumnSums.Select(s => s.Value))
                .SelectMany(ExprWalker.Nodes).OfType<LoadExpr>().Any(l => l.Broadcast == Broadcast.Column);

        private static IEnumerable<PlanBuffer> Loads(Expr expr) => ExprWalker.Nodes(expr).OfType<LoadExpr>().Select(l => l.Buffer);
    }
}
