using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// A layer kernel's working memory on the GPU (<see cref="BufferKind.Workspace"/>): the library decides its size and
    /// layout, which differ from the CPU runtime's (conv2d keeps every image's columns, attention only lse and delta).
    /// </summary>
    public sealed class CudaWorkspace
    {
        public CudaWorkspace(IReadOnlyList<Dim> length, string layout, bool endsWithOnes = false)
        {
            Length = length;
            Layout = layout;
            EndsWithOnes = endsWithOnes;
        }

        /// <summary>Floats, as a sum of terms (an LSTM's is 6·B·T·H + 2·B·H).</summary>
        public IReadOnlyList<Dim> Length { get; }

        /// <summary>What lies where, for the comment on the device buffer: <c>gates [B, T, 512] | cells [B, T, 128] | …</c>.</summary>
        public string Layout { get; }

        /// <summary>
        /// The last term of <see cref="Length"/> holds ones, written once when the memory is allocated (conv2d's weight
        /// gradient sums its per-image products with them); the rest starts zeroed.
        /// </summary>
        public bool EndsWithOnes { get; }
    }

    public sealed partial class CudaEmitter
    {
        private readonly Dictionary<PlanBuffer, CudaWorkspace> _workspaces = new Dictionary<PlanBuffer, CudaWorkspace>();

        /// <summary>
        /// Every library family a layer kernel's launchers use: its own (<see cref="FamilyOf"/>), and for every lstm or gru
        /// also <see cref="LayerFamily.Sequence"/> (the time shift of h and x's BF16 products both share; for a
        /// bidirectional one md_sequence_copy reverses the input and joins the directions).
        /// </summary>
        public static IEnumerable<LayerFamily> FamiliesOf(Kernel kernel)
        {
            if (FamilyOf(kernel) is { } family) yield return family;
            if (kernel is LstmKernel or LstmBackwardKernel or GruKernel or GruBackwardKernel)
                yield return LayerFamily.Sequence;
        }

        /// <summary>The library family whose kernels a layer kernel launches; null for the others (a reshape view launches nothing).</summary>
        public static LayerFamily? FamilyOf(Kernel kernel) => kernel switch
        {
            Conv2dKernel or Conv2dBackwardKernel => LayerFamily.Conv2d,
            Pool2dKernel or Pool2dBackwardKernel => LayerFamily.Pool2d,
            GlobalPool2dKernel or GlobalPool2dBackwardKernel => LayerFamily.GlobalPool2d,
            PermuteKernel => LayerFamily.Permute,
            NarrowKernel or NarrowBackwardKernel => LayerFamily.Narrow,
            ReduceKernel or ReduceBackwardKernel => LayerFamily.Reduce,
            EmbeddingKernel or EmbeddingBackwardKernel => LayerFamily.Embedding,
            PositionalKernel or PositionalBackwardKernel => LayerFamily.Positional,
            LayerNormKernel or LayerNormBackwardKernel => LayerFamily.LayerNorm,
            SoftmaxKernel or SoftmaxBackwardKernel => LayerFamily.Softmax,
            LstmKernel or LstmBackwardKernel => LayerFamily.Lstm,
            GruKernel or GruBackwardKernel => LayerFamily.Gru,
            AttentionKernel { TensorCores: true } or AttentionBackwardKernel { TensorCores: true } => LayerFamily.FlashAttention,
            AttentionKernel or AttentionBackwardKernel => LayerFamily.Attention,
            ConcatKernel or ConcatBackwardKernel => LayerFamily.Concat,
            BatchNormKernel or BatchNormBackwardKernel => LayerFamily.BatchNorm,
            _ => null,
        };

        /// <summary>
        /// Whether <paramref name="kernel"/> has a CUDA rendering: GEMMs, elementwise groups, views, and every layer kernel
        /// within its library kernel's limits (attention: head_dim ≤ <see cref="CudaLayerLibrary.AttentionMaxHeadDim"/>,
        /// a compile-time size, so a model beyond it gets no GPU half rather than a launch that fails).
        /// </summary>
        /// <summary>The first kernel of <paramref name="plan"/> without a CUDA rendering (the model then gets no GPU half), or null.</summary>
        internal static Kernel? FirstWithoutRendering(TrainingPlan plan) => plan.Forward.Concat(plan.Backward).FirstOrDefault(k => !Renders(k));

        private static bool Renders(Kernel kernel) => kernel switch
        {
            GemmKernel or ElementwiseKernel or ReshapeKernel => true,
            AttentionKernel a => a.HeadDim <= CudaLayerLibrary.AttentionMaxHeadDim,
            AttentionBackwardKernel a => a.HeadDim <= CudaLayerLibrary.AttentionMaxHeadDim,
            _ => FamilyOf(kernel) is not null,
        };

        /// <summary>
        /// The library source of every layer family the plan uses, once each, in order of first use, each after a comment
        /// naming the .model lines that use it. The launches themselves are in the generated C#, whose comments name the
        /// .model line of every launch.
        /// </summary>
        private void EmitLayerLibrary()
        {
            var users = new List<(LayerFamily Family, List<Origin> Origins)>();
            // bf16.cuh first in every module: it declares md_act, the activation storage type every kernel after it uses
            // (float, or md_bf16 in a Bf16 session, which compiles this source with MD_ACT_BF16 defined). precision bf16
            // also uses its conversions (the GEMM operands, the optimizer's BF16 copy).
            var bf16Users = new List<Origin>();
            if (_plan.Model.Precision.Mode == Precision.Bf16) bf16Users.Add(new Origin(_plan.Model.Precision.Span, "precision bf16"));
            users.Add((LayerFamily.Bf16, bf16Users));
            foreach (var kernel in _plan.Forward.Concat(_plan.Backward))
            {
                foreach (var family in FamiliesOf(kernel))
                {
                    var entry = users.FirstOrDefault(u => u.Family == family);
                    if (entry.Origins is null)
                    {
                        entry = (family, new List<Origin>());
                        users.Add(entry);
                    }
                    foreach (var origin in kernel.Origins)
                    {
                        if (!entry.Origins.Any(o => o.Span.Equals(origin.Span) && o.Description == origin.Description)) entry.Origins.Add(origin);
                    }
                }
            }

            Section("Layer kernels");
            _w.Line("// ModelDsl's hand-written layer library (Cuda/Kernels/*.cuh): bf16.cuh (the activation storage type md_act), then");
            _w.Line("// one file per layer family the model uses. The generated C# calls ModelDsl.Cuda.Layers, whose launchers run these");
            _w.Line("// kernels, with cuBLAS for the matrix products, in the sequence each file's header describes; every call site there");
            _w.Line("// names its .model line.");
            foreach (var (family, origins) in users)
            {
                _w.Line();
                _w.Line($"// Cuda/Kernels/{CudaLayerLibrary.FileName(family)}, used by:");
                if (family == LayerFamily.Bf16) _w.Line("//   every kernel of this module: md_act, md_load and md_act_from (activation storage, docs/cuda.md \"Precision\")");
                foreach (var origin in origins) _w.Line($"//   {_fileName}:{Line(origin.Span)}  {origin.Description}");
                foreach (var line in CudaLayerLibrary.Source(family).TrimEnd('\n').Split('\n')) _w.Line(line);
            }
        }

        /// <summary>
        /// Records the working memory of one layer kernel: the length and layout its launcher in <c>ModelDsl.Cuda.Layers</c>
        /// uses (the launches themselves are the launcher's, checked against the library's parsed signatures there).
        /// A forward and its backward share one buffer; the backward's description, recorded last, is the larger.
        /// </summary>
        private void DescribeLayerWorkspace(Kernel kernel)
        {
            switch (kernel)
            {
                case Conv2dKernel k:
                    _workspaces[k.Workspace] = new CudaWorkspace(new[] { Conv2dColumns(k.Sizes) }, Conv2dColumnsLayout(k.Sizes));
                    break;
                case Conv2dBackwardKernel k:
                {
                    // The launcher's GEMMs, each one call over the images: P[n] = dy[n]·columns[n]ᵀ, then dW (+)= Σ_n P[n] as
                    // onesᵀ·P, then dcol[n] = Wᵀ·dy[n] over columns[n]. P and the ones follow the columns (Conv2d.OnesOffset).
                    var s = k.Sizes;
                    _workspaces[k.Workspace] = new CudaWorkspace(new[] { Conv2dColumns(s), Conv2dWeightProducts(s), s.Batch },
                        $"{Conv2dColumnsLayout(s)} | each image's dW product [{Text(s.Batch)}, {Int(s.OutChannels)}, {Text(Patch(s))}] | "
                        + $"ones [{Text(s.Batch)}], by which one GEMM sums those products", endsWithOnes: true);
                    break;
                }
                case LstmKernel k:
                    DescribeLstmWorkspace(k.Workspace, k.Batch, k.Steps, k.Hidden, k.Reverse is null ? null : k.InputSize);
                    break;
                case LstmBackwardKernel k:
                    DescribeLstmWorkspace(k.Workspace, k.Batch, k.Steps, k.Hidden, k.Reverse is null ? null : k.InputSize);
                    break;
                case GruKernel k:
                    DescribeGruWorkspace(k.Workspace, k.Batch, k.Steps, k.Hidden, k.Reverse is null ? null : k.InputSize);
                    break;
                case GruBackwardKernel k:
                    DescribeGruWorkspace(k.Workspace, k.Batch, k.Steps, k.Hidden, k.Reverse is null ? null : k.InputSize);
                    break;
                case AttentionKernel k:
                    DescribeAttentionWorkspace(k.Workspace, k.Batch, k.Steps, k.Heads);
                    break;
                case AttentionBackwardKernel k:
                    DescribeAttentionWorkspace(k.Workspace, k.Batch, k.Steps, k.Heads);
                    break;
                case Pool2dKernel or Pool2dBackwardKernel or GlobalPool2dKernel or GlobalPool2dBackwardKernel or PermuteKernel or NarrowKernel or NarrowBackwardKernel or ReduceKernel or ReduceBackwardKernel or ReshapeKernel or EmbeddingKernel or EmbeddingBackwardKernel
                    or PositionalKernel or PositionalBackwardKernel or LayerNormKernel or LayerNormBackwardKernel
                    or SoftmaxKernel or SoftmaxBackwardKernel or ConcatKernel or ConcatBackwardKernel or BatchNormKernel or BatchNormBackwardKernel:
                    break; // no working memory
                default:
                    throw new System.InvalidOperationException($"{kernel.Name}: the CUDA emitter does not render {kernel.GetType().Name}");
            }
        }

        /// <summary>conv2d's working memory starts with every image's im2col columns, [B, patch, plane].</summary>
        internal static Dim Conv2dColumns(Conv2dSizes s) => s.Batch.Multiply(Patch(s)).Multiply(Plane(s));

        /// <summary>With a backward, the columns are followed by each image's weight-gradient product [B, K, patch] (then B ones).</summary>
        internal static Dim Conv2dWeightProducts(Conv2dSizes s) => s.Batch.Multiply(Dim.Known(s.OutChannels)).Multiply(Patch(s));

        private static string Conv2dColumnsLayout(Conv2dSizes s) =>
            $"every image's im2col columns [{Text(s.Batch)}, {Text(Patch(s))}, {Text(Plane(s))}]; the backward reads them, then overwrites them with dcol";

        private static Dim Patch(Conv2dSizes s) => s.Channels.Multiply(Dim.Known(s.Kernel * s.Kernel));

        private static Dim Plane(Conv2dSizes s) => s.OutHeight.Multiply(s.OutWidth);

        /// <summary>An LSTM's working memory: the CPU runtime's layout, which ModelDsl.Cuda.Layers.Lstm uses too.</summary>
        private void DescribeLstmWorkspace(PlanBuffer workspace, Dim batch, Dim steps, long hidden, long? bidirectionalInput)
        {
            var rows = batch.Multiply(steps);
            string h = Int(hidden), g = Int(4 * hidden), b = Text(batch), t = Text(steps);
            string one = $"gates [{b}, {t}, {g}] | cells [{b}, {t}, {h}] | h_prev [{b}, {t}, {h}] | dh [{b}, {h}] | dc [{b}, {h}]";
            _workspaces[workspace] = bidirectionalInput is long input
                ? Bidirectional(rows, batch, b, t, hidden, input, 6 * hidden, 2 * hidden, one)
                : new CudaWorkspace(new[] { rows.Multiply(Dim.Known(6 * hidden)), batch.Multiply(Dim.Known(2 * hidden)) }, one);
        }

        /// <summary>
        /// A bidirectional lstm's or gru's working memory (Runtime/Cpu/Layers/Sequence.cs, BidirectionalLayout): each direction's
        /// own (<paramref name="perRow"/>·B·T + <paramref name="perBatch"/>·B floats), then x reversed, each direction's states,
        /// last states and state gradients, and dx reversed.
        /// </summary>
        private static CudaWorkspace Bidirectional(Dim rows, Dim batch, string b, string t, long hidden, long input, long perRow, long perBatch, string direction) =>
            new CudaWorkspace(new[] { rows.Multiply(Dim.Known(2 * perRow + 2 * input + 4 * hidden)), batch.Multiply(Dim.Known(2 * perBatch + 2 * hidden)) },
                $"forward direction ({direction}) | reverse direction (the same) | x_rev [{b}, {t}, {Int(input)}] | h_fwd, h_rev [{b}, {t}, {Int(hidden)}] | "
                + $"last_fwd, last_rev [{b}, {Int(hidden)}] | dh_fwd, dh_rev [{b}, {t}, {Int(hidden)}] | dx_rev [{b}, {t}, {Int(input)}]");

        /// <summary>A GRU's working memory: the CPU runtime's layout, which ModelDsl.Cuda.Layers.Gru uses too.</summary>
        private void DescribeGruWorkspace(PlanBuffer workspace, Dim batch, Dim steps, long hidden, long? bidirectionalInput)
        {
            var rows = batch.Multiply(steps);
            string h = Int(hidden), g = Int(3 * hidden), b = Text(batch), t = Text(steps);
            string one = $"gi [{b}, {t}, {g}] | gh [{b}, {t}, {g}] | h_prev [{b}, {t}, {h}] | dh [{b}, {h}]";
            _workspaces[workspace] = bidirectionalInput is long input
                ? Bidirectional(rows, batch, b, t, hidden, input, 7 * hidden, hidden, one)
                : new CudaWorkspace(new[] { rows.Multiply(Dim.Known(7 * hidden)), batch.Multiply(Dim.Known(hidden)) }, one);
        }

        /// <summary>attention keeps only each row's log-sum-exp (lse) and the backward's D (delta), [B, heads, T] each.</summary>
        private void DescribeAttentionWorkspace(PlanBuffer workspace, Dim batch, Dim steps, long heads)
        {
            var stats = batch.Multiply(Dim.Known(heads)).Multiply(steps);
            string shape = $"[{Text(batch)}, {Int(heads)}, {Text(steps)}]";
            _workspaces[workspace] = new CudaWorkspace(new[] { stats.Multiply(Dim.Known(3)) }, $"row max {shape} | row log-sum {shape} | delta {shape}");
        }

        private static string Text(Dim dim) => dim.ToExpression();
    }
}
