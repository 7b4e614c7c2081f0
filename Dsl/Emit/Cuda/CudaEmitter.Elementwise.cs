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
                    _w.Line($"{Name(sum.Target)}[c] {(sum.Accumulate ? "+=" : "=")} total{k};");
                }
                _w.Close();
            }
            _w.Close();

            _launches[kernel] = new CudaLaunch(kernel.Name, columnSums ? LaunchShape.ColumnBlocks : LaunchShape.Elements,
                columnSums ? kernel.Cols : kernel.Rows.Multiply(kernel.Cols), arguments);
        }

        private void WriteOutputs(ElementwiseKernel kernel, IReadOnlyList<string> results)
        {
            for (int k = 0; k < kernel.Outputs.Count; k++)
            {
                var o = kernel.Outputs[k];
                _w.Line($"{Name(o.Target)}[i] {(o.Accumulate ? "+=" : "=")} {results[k]};");
            }
        }

        private static bool UsesColumn(ElementwiseKernel kernel) =>
            kernel.Outputs.Select(o => o.Value).Concat(kernel.ColumnSums.Select(s => s.Value))
                .SelectMany(ExprWalker.Nodes).OfType<LoadExpr>().Any(l => l.Broadcast == Broadcast.Column);

        private static IEnumerable<PlanBuffer> Loads(Expr expr) => ExprWalker.Nodes(expr).OfType<LoadExpr>().Select(l => l.Buffer);
    }
}
