using System.Collections.Generic;
using System.Linq;
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
        private readonly Dictionary<Kernel, IReadOnlyList<CudaLaunch>> _layerLaunches = new Dictionary<Kernel, IReadOnlyList<CudaLaunch>>();
        private readonly Dictionary<PlanBuffer, CudaWorkspace> _workspaces = new Dictionary<PlanBuffer, CudaWorkspace>();

        /// <summary>The library family whose kernels a layer kernel launches; null for the others (a reshape view launches nothing).</summary>
        public static LayerFamily? FamilyOf(Kernel kernel) => kernel switch
        {
            Conv2dKernel or Conv2dBackwardKernel => LayerFamily.Conv2d,
            Pool2dKernel or Pool2dBackwardKernel => LayerFamily.Pool2d,
            EmbeddingKernel or EmbeddingBackwardKernel => LayerFamily.Embedding,
            PositionalKernel or PositionalBackwardKernel => LayerFamily.Positional,
            LayerNormKernel or LayerNormBackwardKernel => LayerFamily.LayerNorm,
            SoftmaxKernel or SoftmaxBackwardKernel => LayerFamily.Softmax,
            LstmKernel or LstmBackwardKernel => LayerFamily.Lstm,
            AttentionKernel or AttentionBackwardKernel => LayerFamily.Attention,
            ConcatKernel or ConcatBackwardKernel => LayerFamily.Concat,
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
            foreach (var kernel in _plan.Forward.Concat(_plan.Backward))
            {
                if (FamilyOf(kernel) is not { } family) continue;
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
            if (users.Count == 0) return;

            Section("Layer kernels");
            _w.Line("// ModelDsl's hand-written layer library (Cuda/Kernels/*.cuh), one file per layer family the model uses.");
            _w.Line("// The generated C# launches these kernels, with cuBLAS for the matrix products, in the sequence each block's header");
            _w.Line("// describes; every launch site there names its .model line.");
            foreach (var (family, origins) in users)
            {
                _w.Line();
                _w.Line($"// Cuda/Kernels/{CudaLayerLibrary.FileName(family)}, used by:");
                foreach (var origin in origins) _w.Line($"//   {_fileName}:{Line(origin.Span)}  {origin.Description}");
                foreach (var line in CudaLayerLibrary.Source(family).TrimEnd('\n').Split('\n')) _w.Line(line);
            }
        }

        /// <summary>Records the library launches of one layer kernel (in the order the host issues them) and its working memory.</summary>
        private void DescribeLayerKernel(Kernel kernel)
        {
            var launches = new List<CudaLaunch>();
            switch (kernel)
            {
                case Conv2dKernel k:
                {
                    // The GEMM is the host's, one strided batch over the images: W[K, patch] · columns[n][patch, plane] → y[n].
                    var s = k.Sizes;
                    _workspaces[k.Workspace] = new CudaWorkspace(new[] { Conv2dColumns(s) }, Conv2dColumnsLayout(s));
                    launches.Add(Launch("md_conv2d_im2col", LaunchShape.Elements, Conv2dColumns(s),
                        ConvGeometry(s).Concat(new[] { CudaArgument.Bound("x", k.Input, false), CudaArgument.Bound("col", k.Workspace, true) })));
                    if (k.Bias is not null)
                    {
                        launches.Add(Launch("md_conv2d_bias_forward", LaunchShape.Elements, s.Batch.Multiply(Dim.Known(s.OutChannels)).Multiply(Plane(s)),
                            CudaArgument.SizeOf("images", s.Batch), CudaArgument.Constant("channels", s.OutChannels), CudaArgument.SizeOf("plane", Plane(s)),
                            CudaArgument.Bound("bias", k.Bias, false), CudaArgument.Bound("y", k.Output, true)));
                    }
                    break;
                }
                case Conv2dBackwardKernel k:
                {
                    // The host's GEMMs, each one call over the images: P[n] = dy[n]·columns[n]ᵀ, then dW (+)= Σ_n P[n] as
                    // onesᵀ·P, then dcol[n] = Wᵀ·dy[n] over columns[n]. P and the ones follow the columns in the working memory.
                    var s = k.Sizes;
                    _workspaces[k.Workspace] = new CudaWorkspace(new[] { Conv2dColumns(s), Conv2dWeightProducts(s), s.Batch },
                        $"{Conv2dColumnsLayout(s)} | each image's dW product [{Text(s.Batch)}, {Int(s.OutChannels)}, {Text(Patch(s))}] | "
                        + $"ones [{Text(s.Batch)}], by which one GEMM sums those products", endsWithOnes: true);
                    if (k.InputGradient is { } dx)
                    {
                        launches.Add(Launch("md_conv2d_col2im", LaunchShape.Elements, s.Batch.Multiply(s.Channels).Multiply(s.Height).Multiply(s.Width),
                            ConvGeometry(s).Concat(new[] { CudaArgument.Bound("col", k.Workspace, false), CudaArgument.Bound("dx", dx.Buffer, true), CudaArgument.Flag("accumulate", dx.Accumulate) })));
                    }
                    if (k.BiasGradient is { } db)
                    {
                        launches.Add(Launch("md_conv2d_bias_backward", LaunchShape.BlockPerItem, Dim.Known(s.OutChannels),
                            CudaArgument.SizeOf("images", s.Batch), CudaArgument.Constant("channels", s.OutChannels), CudaArgument.SizeOf("plane", Plane(s)),
                            CudaArgument.Bound("dy", k.OutputGradient, false), CudaArgument.Bound("dbias", db.Buffer, true), CudaArgument.Flag("accumulate", db.Accumulate)));
                    }
                    break;
                }
                case Pool2dKernel k:
                {
                    var s = k.Sizes;
                    var arguments = PoolGeometry(s).Concat(new[] { CudaArgument.Bound("x", k.Input, false), CudaArgument.Bound("y", k.Output, true) });
                    if (k.Kind == PoolKind.Max) arguments = arguments.Concat(new[] { CudaArgument.Bound("indices", k.Indices!, true) });
                    launches.Add(Launch(k.Kind == PoolKind.Max ? "md_pool2d_max_forward" : "md_pool2d_avg_forward", LaunchShape.Elements,
                        Planes(s).Multiply(s.OutHeight).Multiply(s.OutWidth), arguments));
                    break;
                }
                case Pool2dBackwardKernel k:
                {
                    var s = k.Sizes;
                    var arguments = PoolGeometry(s).Concat(new[] { CudaArgument.Bound("dy", k.OutputGradient, false) });
                    if (k.Kind == PoolKind.Max) arguments = arguments.Concat(new[] { CudaArgument.Bound("indices", k.Indices!, false) });
                    arguments = arguments.Concat(new[] { CudaArgument.Bound("dx", k.InputGradient.Buffer, true), CudaArgument.Flag("accumulate", k.InputGradient.Accumulate) });
                    launches.Add(Launch(k.Kind == PoolKind.Max ? "md_pool2d_max_backward" : "md_pool2d_avg_backward", LaunchShape.Elements,
                        Planes(s).Multiply(s.Height).Multiply(s.Width), arguments));
                    break;
                }
                case ReshapeKernel:
                    break; // a view: the same device memory, nothing to launch
                case EmbeddingKernel k:
                    launches.Add(Launch("md_embedding_forward", LaunchShape.Elements, k.Count.Multiply(Dim.Known(k.Dim)),
                        CudaArgument.SizeOf("count", k.Count), CudaArgument.Constant("num", k.Num), CudaArgument.Constant("dim", k.Dim),
                        CudaArgument.Bound("ids", k.Ids, false), CudaArgument.Bound("weight", k.Table, false), CudaArgument.Bound("y", k.Output, true)));
                    break;
                case EmbeddingBackwardKernel k:
                {
                    var dweight = k.TableGradient.Buffer;
                    if (!k.TableGradient.Accumulate)
                    {
                        launches.Add(Launch("md_embedding_backward_clear", LaunchShape.Elements, Dim.Known(k.Num * k.Dim),
                            CudaArgument.Constant("num", k.Num), CudaArgument.Constant("dim", k.Dim), CudaArgument.Bound("dweight", dweight, true)));
                    }
                    launches.Add(Launch("md_embedding_backward", LaunchShape.Elements, k.Count.Multiply(Dim.Known(k.Dim)),
                        CudaArgument.SizeOf("count", k.Count), CudaArgument.Constant("num", k.Num), CudaArgument.Constant("dim", k.Dim),
                        CudaArgument.Bound("ids", k.Ids, false), CudaArgument.Bound("dy", k.OutputGradient, false), CudaArgument.Bound("dweight", dweight, true)));
                    break;
                }
                case PositionalKernel k:
                    launches.Add(Launch("md_positional_forward", LaunchShape.Elements, k.Batch.Multiply(k.Steps).Multiply(Dim.Known(k.Dim)),
                        CudaArgument.SizeOf("batch", k.Batch), CudaArgument.SizeOf("steps", k.Steps), CudaArgument.Constant("dim", k.Dim),
                        CudaArgument.Bound("x", k.Input, false), CudaArgument.Bound("table", k.Table, false), CudaArgument.Bound("y", k.Output, true)));
                    break;
                case PositionalBackwardKernel k:
                    launches.Add(Launch("md_positional_backward", LaunchShape.Elements, Dim.Known(k.MaxLength * k.Dim),
                        CudaArgument.SizeOf("batch", k.Batch), CudaArgument.SizeOf("steps", k.Steps), CudaArgument.Constant("context", k.MaxLength), CudaArgument.Constant("dim", k.Dim),
                        CudaArgument.Bound("dy", k.OutputGradient, false),
                        k.InputGradient is { } positionalDx ? CudaArgument.Bound("dx", positionalDx.Buffer, true) : CudaArgument.Null("dx", DType.F32, true),
                        CudaArgument.Bound("dtable", k.TableGradient.Buffer, true),
                        CudaArgument.Flag("accumulate_input", k.InputGradient?.Accumulate ?? false), CudaArgument.Flag("accumulate_table", k.TableGradient.Accumulate)));
                    break;
                case LayerNormKernel k:
                    launches.Add(Launch("md_layernorm_forward", LaunchShape.WarpPerRow, k.Rows,
                        CudaArgument.SizeOf("rows", k.Rows), CudaArgument.Constant("dim", k.Dim), CudaArgument.Constant("eps", k.Epsilon),
                        CudaArgument.Bound("x", k.Input, false), CudaArgument.Bound("weight", k.Weight, false), CudaArgument.Bound("bias", k.Bias, false),
                        CudaArgument.Bound("y", k.Output, true), CudaArgument.Bound("mean", k.Mean, true), CudaArgument.Bound("rstd", k.Rstd, true)));
                    break;
                case LayerNormBackwardKernel k:
                    if (k.InputGradient is { } normDx)
                    {
                        launches.Add(Launch("md_layernorm_backward_dx", LaunchShape.WarpPerRow, k.Rows,
                            CudaArgument.SizeOf("rows", k.Rows), CudaArgument.Constant("dim", k.Dim), CudaArgument.Bound("x", k.Input, false),
                            CudaArgument.Bound("weight", k.Weight, false), CudaArgument.Bound("mean", k.Mean, false), CudaArgument.Bound("rstd", k.Rstd, false),
                            CudaArgument.Bound("dy", k.OutputGradient, false), CudaArgument.Bound("dx", normDx.Buffer, true), CudaArgument.Flag("accumulate", normDx.Accumulate)));
                    }
                    launches.Add(Launch("md_layernorm_backward_params", LaunchShape.ColumnBlocks, Dim.Known(k.Dim),
                        CudaArgument.SizeOf("rows", k.Rows), CudaArgument.Constant("dim", k.Dim), CudaArgument.Bound("x", k.Input, false),
                        CudaArgument.Bound("mean", k.Mean, false), CudaArgument.Bound("rstd", k.Rstd, false), CudaArgument.Bound("dy", k.OutputGradient, false),
                        CudaArgument.Bound("dweight", k.WeightGradient.Buffer, true), CudaArgument.Bound("dbias", k.BiasGradient.Buffer, true),
                        CudaArgument.Flag("accumulate", SameFlag(k, k.WeightGradient, k.BiasGradient))));
                    break;
                case ConcatKernel k:
                    foreach (var part in k.Parts)
                    {
                        launches.Add(Launch("md_concat_forward", LaunchShape.Elements, k.Rows.Multiply(part.Width),
                            CudaArgument.SizeOf("rows", k.Rows), CudaArgument.SizeOf("width", part.Width), CudaArgument.SizeOf("output_width", k.OutputWidth),
                            CudaArgument.SizeOf("offset", part.Offset), CudaArgument.Bound("x", part.Input, false), CudaArgument.Bound("y", k.Output, true)));
                    }
                    break;
                case ConcatBackwardKernel k:
                    foreach (var part in k.Parts)
                    {
                        launches.Add(Launch("md_concat_backward", LaunchShape.Elements, k.Rows.Multiply(part.Width),
                            CudaArgument.SizeOf("rows", k.Rows), CudaArgument.SizeOf("width", part.Width), CudaArgument.SizeOf("output_width", k.OutputWidth),
                            CudaArgument.SizeOf("offset", part.Offset), CudaArgument.Bound("dy", k.OutputGradient, false),
                            CudaArgument.Bound("dx", part.Gradient.Buffer, true), CudaArgument.Flag("accumulate", part.Gradient.Accumulate)));
                    }
                    break;
                case SoftmaxKernel k:
                    launches.Add(Launch("md_softmax_forward", LaunchShape.WarpPerRow, k.Rows,
                        CudaArgument.SizeOf("rows", k.Rows), CudaArgument.SizeOf("cols", k.Cols), CudaArgument.Bound("x", k.Input, false), CudaArgument.Bound("y", k.Output, true)));
                    break;
                case SoftmaxBackwardKernel k:
                    launches.Add(Launch("md_softmax_backward", LaunchShape.WarpPerRow, k.Rows,
                        CudaArgument.SizeOf("rows", k.Rows), CudaArgument.SizeOf("cols", k.Cols), CudaArgument.Bound("y", k.Output, false),
                        CudaArgument.Bound("dy", k.OutputGradient, false), CudaArgument.Bound("dx", k.InputGradient.Buffer, true), CudaArgument.Flag("accumulate", k.InputGradient.Accumulate)));
                    break;
                case LstmKernel k:
                {
                    // Before the steps the host multiplies all inputs at once (gates = x·W_ihᵀ); before step t > 0 it adds
                    // h[t−1]·W_hhᵀ into the step's gate rows. The gates' and cells' layout is the CPU runtime's.
                    var layout = DescribeLstmWorkspace(k.Workspace, k.Batch, k.Steps, k.Hidden);
                    launches.Add(Launch("md_lstm_forward_step", LaunchShape.Elements, k.Batch.Multiply(Dim.Known(k.Hidden)),
                        CudaArgument.SizeOf("batch", k.Batch), CudaArgument.SizeOf("steps", k.Steps), CudaArgument.Constant("hidden", k.Hidden), CudaArgument.Index("t"),
                        CudaArgument.Bound("bias_ih", k.BiasIh, false), CudaArgument.Bound("bias_hh", k.BiasHh, false),
                        CudaArgument.Bound("gates", k.Workspace, true, layout.Gates), CudaArgument.Bound("cells", k.Workspace, true, layout.Cells),
                        CudaArgument.Bound("h", k.HiddenStates, true),
                        k.LastHidden is null ? CudaArgument.Null("last_hidden", DType.F32, true) : CudaArgument.Bound("last_hidden", k.LastHidden, true),
                        CudaArgument.Null("last_cell", DType.F32, true)));
                    break;
                }
                case LstmBackwardKernel k:
                {
                    // After step t > 0 the host writes dh_next = dpre[t]·W_hh into dh; after the steps, the weight gradients
                    // dW_ih (+)= dpreᵀ·x and dW_hh (+)= dpreᵀ·h_prev and, when wanted, dx (+)= dpre·W_ih, each one GEMM over B·T rows.
                    var layout = DescribeLstmWorkspace(k.Workspace, k.Batch, k.Steps, k.Hidden);
                    var g = Dim.Known(4 * k.Hidden);
                    launches.Add(Launch("md_lstm_backward_step", LaunchShape.Elements, k.Batch.Multiply(Dim.Known(k.Hidden)),
                        CudaArgument.SizeOf("batch", k.Batch), CudaArgument.SizeOf("steps", k.Steps), CudaArgument.Constant("hidden", k.Hidden), CudaArgument.Index("t"),
                        CudaArgument.Bound("cells", k.Workspace, false, layout.Cells),
                        k.HiddenStatesGradient is null ? CudaArgument.Null("dh_out", DType.F32, false) : CudaArgument.Bound("dh_out", k.HiddenStatesGradient, false),
                        k.LastHiddenGradient is null ? CudaArgument.Null("d_last_hidden", DType.F32, false) : CudaArgument.Bound("d_last_hidden", k.LastHiddenGradient, false),
                        CudaArgument.Bound("gates", k.Workspace, true, layout.Gates), CudaArgument.Bound("dh", k.Workspace, true, layout.Dh),
                        CudaArgument.Bound("dc", k.Workspace, true, layout.Dc)));
                    launches.Add(Launch("md_lstm_shift_hidden", LaunchShape.Elements, k.Batch.Multiply(k.Steps).Multiply(Dim.Known(k.Hidden)),
                        CudaArgument.SizeOf("batch", k.Batch), CudaArgument.SizeOf("steps", k.Steps), CudaArgument.Constant("hidden", k.Hidden),
                        CudaArgument.Bound("h", k.HiddenStates, false), CudaArgument.Bound("h_prev", k.Workspace, true, layout.HPrev)));
                    launches.Add(Launch("md_lstm_bias_backward", LaunchShape.ColumnBlocks, g,
                        CudaArgument.SizeOf("rows", k.Batch.Multiply(k.Steps)), CudaArgument.SizeOf("cols", g),
                        CudaArgument.Bound("dpre", k.Workspace, false, layout.Gates),
                        CudaArgument.Bound("dbias_ih", k.BiasIhGradient.Buffer, true), CudaArgument.Bound("dbias_hh", k.BiasHhGradient.Buffer, true),
                        CudaArgument.Flag("accumulate", SameFlag(k, k.BiasIhGradient, k.BiasHhGradient))));
                    break;
                }
                case AttentionKernel k:
                {
                    var stats = DescribeAttentionWorkspace(k.Workspace, k.Batch, k.Steps, k.Heads);
                    launches.Add(Launch("md_attention_forward", LaunchShape.HeadRows, k.Steps,
                        AttentionSizes(k.Batch, k.Steps, k.Heads, k.HeadDim, k.Causal)
                            .Concat(Qkv(k.Qkv, k.ModelDim, "q", "k", "v", writable: false))
                            .Concat(new[] { CudaArgument.Bound("out", k.Output, true), CudaArgument.Bound("lse", k.Workspace, true, stats.Lse) }),
                        Dim.Known(k.Heads), k.Batch));
                    break;
                }
                case AttentionBackwardKernel k:
                {
                    var stats = DescribeAttentionWorkspace(k.Workspace, k.Batch, k.Steps, k.Heads);
                    var sizes = AttentionSizes(k.Batch, k.Steps, k.Heads, k.HeadDim, k.Causal).Concat(Qkv(k.Qkv, k.ModelDim, "q", "k", "v", writable: false)).ToList();
                    var dout = CudaArgument.Bound("dout", k.OutputGradient, false);
                    var lse = CudaArgument.Bound("lse", k.Workspace, false, stats.Lse);
                    var accumulate = CudaArgument.Flag("accumulate", k.QkvGradient.Accumulate);
                    launches.Add(Launch("md_attention_backward_query", LaunchShape.HeadRows, k.Steps,
                        sizes.Concat(new[] { dout, lse, CudaArgument.Bound("delta", k.Workspace, true, stats.Delta), CudaArgument.Bound("dq", k.QkvGradient.Buffer, true), accumulate }),
                        Dim.Known(k.Heads), k.Batch));
                    launches.Add(Launch("md_attention_backward_key", LaunchShape.HeadRows, k.Steps,
                        sizes.Concat(new[] { dout, lse, CudaArgument.Bound("delta", k.Workspace, false, stats.Delta) })
                            .Concat(Qkv(k.QkvGradient.Buffer, k.ModelDim, null, "dk", "dv", writable: true)).Concat(new[] { accumulate }),
                        Dim.Known(k.Heads), k.Batch));
                    break;
                }
                default:
                    throw new System.InvalidOperationException($"{kernel.Name}: the CUDA emitter does not render {kernel.GetType().Name}");
            }
            _layerLaunches[kernel] = launches;
        }

        private static CudaLaunch Launch(string name, LaunchShape shape, Dim count, params CudaArgument[] arguments) =>
            new CudaLaunch(name, shape, count, arguments);

        private static CudaLaunch Launch(string name, LaunchShape shape, Dim count, IEnumerable<CudaArgument> arguments, Dim? countY = null, Dim? countZ = null) =>
            new CudaLaunch(name, shape, count, arguments.ToList(), countY, countZ);

        /// <summary>conv2d's working memory starts with every image's im2col columns, [B, patch, plane].</summary>
        internal static Dim Conv2dColumns(Conv2dSizes s) => s.Batch.Multiply(Patch(s)).Multiply(Plane(s));

        /// <summary>With a backward, the columns are followed by each image's weight-gradient product [B, K, patch] (then B ones).</summary>
        internal static Dim Conv2dWeightProducts(Conv2dSizes s) => s.Batch.Multiply(Dim.Known(s.OutChannels)).Multiply(Patch(s));

        private static string Conv2dColumnsLayout(Conv2dSizes s) =>
            $"every image's im2col columns [{Text(s.Batch)}, {Text(Patch(s))}, {Text(Plane(s))}]; the backward reads them, then overwrites them with dcol";

        private static Dim Patch(Conv2dSizes s) => s.Channels.Multiply(Dim.Known(s.Kernel * s.Kernel));

        private static Dim Plane(Conv2dSizes s) => s.OutHeight.Multiply(s.OutWidth);

        private static Dim Planes(Pool2dSizes s) => s.Batch.Multiply(s.Channels);

        /// <summary>The leading arguments of md_conv2d_im2col and md_conv2d_col2im: the whole batch in one launch.</summary>
        private static IEnumerable<CudaArgument> ConvGeometry(Conv2dSizes s) => new[]
        {
            CudaArgument.SizeOf("images", s.Batch), CudaArgument.SizeOf("channels", s.Channels), CudaArgument.SizeOf("height", s.Height),
            CudaArgument.SizeOf("width", s.Width), CudaArgument.SizeOf("out_height", s.OutHeight), CudaArgument.SizeOf("out_width", s.OutWidth),
            CudaArgument.Constant("kernel", s.Kernel), CudaArgument.Constant("stride", s.Stride), CudaArgument.Constant("padding", s.Padding),
        };

        /// <summary>The leading arguments of every md_pool2d_* kernel.</summary>
        private static IEnumerable<CudaArgument> PoolGeometry(Pool2dSizes s) => new[]
        {
            CudaArgument.SizeOf("planes", Planes(s)), CudaArgument.SizeOf("height", s.Height), CudaArgument.SizeOf("width", s.Width),
            CudaArgument.SizeOf("out_height", s.OutHeight), CudaArgument.SizeOf("out_width", s.OutWidth),
            CudaArgument.Constant("kernel", s.Kernel), CudaArgument.Constant("stride", s.Stride), CudaArgument.Constant("padding", s.Padding),
        };

        /// <summary>The leading arguments of every md_attention_* kernel; q, k and v are rows of the fused qkv, 3d floats apart.</summary>
        private static IEnumerable<CudaArgument> AttentionSizes(Dim batch, Dim steps, long heads, long headDim, bool causal) => new[]
        {
            CudaArgument.SizeOf("batch", batch), CudaArgument.SizeOf("steps", steps), CudaArgument.Constant("heads", heads),
            CudaArgument.Constant("head_dim", headDim), CudaArgument.Constant("stride", 3 * heads * headDim), CudaArgument.Flag("causal", causal),
        };

        /// <summary>q (or dq) at column 0 of a [B, T, 3d] buffer, k at d, v at 2d; a null name leaves that one out.</summary>
        private static IEnumerable<CudaArgument> Qkv(PlanBuffer buffer, long d, string? q, string k, string v, bool writable)
        {
            if (q is not null) yield return CudaArgument.Bound(q, buffer, writable);
            yield return CudaArgument.Bound(k, buffer, writable, Dim.Known(d));
            yield return CudaArgument.Bound(v, buffer, writable, Dim.Known(2 * d));
        }

        /// <summary>Where an LSTM's gates, cells, h_prev, dh and dc sit in its working memory (the CPU runtime's layout).</summary>
        private (Dim[] Gates, Dim[] Cells, Dim[] HPrev, Dim[] Dh, Dim[] Dc) DescribeLstmWorkspace(PlanBuffer workspace, Dim batch, Dim steps, long hidden)
        {
            var rows = batch.Multiply(steps);
            var rowsByHidden = rows.Multiply(Dim.Known(hidden));
            var batchByHidden = batch.Multiply(Dim.Known(hidden));
            string h = Int(hidden), g = Int(4 * hidden), b = Text(batch), t = Text(steps);
            _workspaces[workspace] = new CudaWorkspace(new[] { rows.Multiply(Dim.Known(6 * hidden)), batch.Multiply(Dim.Known(2 * hidden)) },
                $"gates [{b}, {t}, {g}] | cells [{b}, {t}, {h}] | h_prev [{b}, {t}, {h}] | dh [{b}, {h}] | dc [{b}, {h}]");
            return (new Dim[0], new[] { rows.Multiply(Dim.Known(4 * hidden)) }, new[] { rows.Multiply(Dim.Known(5 * hidden)) },
                new[] { rows.Multiply(Dim.Known(6 * hidden)) }, new[] { rows.Multiply(Dim.Known(6 * hidden)), batchByHidden });
        }

        /// <summary>attention keeps only each row's log-sum-exp (lse) and the backward's D (delta), [B, heads, T] each.</summary>
        private (Dim[] Lse, Dim[] Delta) DescribeAttentionWorkspace(PlanBuffer workspace, Dim batch, Dim steps, long heads)
        {
            var stats = batch.Multiply(Dim.Known(heads)).Multiply(steps);
            string shape = $"[{Text(batch)}, {Int(heads)}, {Text(steps)}]";
            _workspaces[workspace] = new CudaWorkspace(new[] { stats.Multiply(Dim.Known(2)) }, $"lse {shape} | delta {shape}");
            return (new Dim[0], new[] { stats });
        }

        /// <summary>The library takes one accumulate flag for gradients the plan always sets alike (only dense weights are tied).</summary>
        private static bool SameFlag(Kernel kernel, GradientOutput first, GradientOutput second)
        {
            if (first.Accumulate != second.Accumulate) throw new System.InvalidOperationException($"{kernel.Name}: {first.Buffer.Name} and {second.Buffer.Name} are not both assigned or both accumulated");
            return first.Accumulate;
        }

        private static string Text(Dim dim) => dim.ToExpression();
    }
}
