using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;
using static ModelDsl.Plan.E;

namespace ModelDsl.Autodiff
{
    public sealed partial class PlanBuilder
    {
        /// <summary>The forward kernel of each layer op: its backward reads the sizes and the saved buffers from it.</summary>
        private readonly Dictionary<OpNode, Kernel> _layerForward = new Dictionary<OpNode, Kernel>();

        /// <summary>attention's buffers between in_proj and out_proj: the attention output before out_proj, and its gradient.</summary>
        private readonly Dictionary<OpNode, PlanBuffer> _attentionContext = new Dictionary<OpNode, PlanBuffer>();
        private readonly Dictionary<OpNode, PlanBuffer> _attentionContextGradient = new Dictionary<OpNode, PlanBuffer>();

        private readonly List<SizeLimit> _sizeLimits = new List<SizeLimit>();
        private readonly List<IdRange> _idRanges = new List<IdRange>();

        /// <summary>Whether the plan has kernels for <paramref name="node"/>: every op; concat of f32 tensors, softmax over the last axis only.</summary>
        private static bool IsSupported(OpNode node) => node.Kind switch
        {
            OpKind.Concat => node.Output.DType == DType.F32,
            OpKind.Softmax => node.Attribute("axis")?.AsInteger == node.Output.Shape.Rank - 1,
            _ => true,
        };

        /// <summary>The forward kernels of a layer group (any op but dense, attention and the elementwise ones).</summary>
        private IEnumerable<Kernel> LayerForward(OpNode op)
        {
            var origins = new[] { OriginOf(op) };
            var x = Value(op.Inputs[0]);
            var y = Value(op.Output);
            Kernel kernel;
            switch (op.Kind)
            {
                case OpKind.Conv2d:
                {
                    var sizes = ConvSizes(op);
                    // The part of the workspace the plan fixes: one column matrix [C·k·k, H'·W']; the runtime adds the
                    // dW/db partials and one slot per thread.
                    var patch = sizes.Channels.Multiply(Dim.Known(sizes.Kernel * sizes.Kernel));
                    var workspace = NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(patch, sizes.OutHeight.Multiply(sizes.OutWidth)), DType.F32, null, null);
                    var bias = OwnedOrNull(op, "bias");
                    kernel = new Conv2dKernel(KernelName("fwd", "conv2d"), origins, sizes, x, _parameters[Owned(op, "weight")], bias is null ? null : _parameters[bias], y, workspace);
                    break;
                }
                case OpKind.MaxPool2d:
                {
                    var indices = NewBuffer(op.Output.Name + ".indices", BufferKind.Saved, op.Output.Shape, DType.I32, null, null);
                    kernel = new Pool2dKernel(KernelName("fwd", "max_pool2d"), origins, PoolKind.Max, PoolSizes(op), x, y, indices);
                    break;
                }
                case OpKind.AvgPool2d:
                    kernel = new Pool2dKernel(KernelName("fwd", "avg_pool2d"), origins, PoolKind.Average, PoolSizes(op), x, y, null);
                    break;
                case OpKind.Flatten:
                case OpKind.Reshape:
                    kernel = new ReshapeKernel(KernelName("fwd", op.Kind.ToSource()), origins, x, y);
                    break;
                case OpKind.Embedding:
                {
                    var count = op.Inputs[0].Shape.ElementCount();
                    long num = op.Attribute("num")!.AsInteger, dim = op.Attribute("dim")!.AsInteger;
                    if (x.Root.Kind == BufferKind.Input) _idRanges.Add(new IdRange(x.Root, count, num, origins[0], $"embedding '{op.LayerPath}'"));
                    kernel = new EmbeddingKernel(KernelName("fwd", "embedding"), origins, count, num, dim, x, _parameters[Owned(op, "weight")], y);
                    break;
                }
                case OpKind.PositionalEmbedding:
                {
                    var shape = op.Inputs[0].Shape;
                    long maxLength = op.Attribute("max_len")!.AsInteger;
                    if (!shape[1].IsKnown) _sizeLimits.Add(LimitOf(shape[1], maxLength, origins[0], $"positional(max_len={maxLength}) '{op.LayerPath}'"));
                    kernel = new PositionalKernel(KernelName("fwd", "positional"), origins, shape[0], shape[1], maxLength, shape.Last.Value, x, _parameters[Owned(op, "weight")], y);
                    break;
                }
                case OpKind.LayerNorm:
                {
                    var (rows, dim) = Matrix(op.Inputs[0].Shape);
                    var leading = new Shape(op.Inputs[0].Shape.Dims.Take(op.Inputs[0].Shape.Rank - 1).ToArray());
                    var mean = NewBuffer(op.Output.Name + ".mean", BufferKind.Saved, leading, DType.F32, null, null);
                    var rstd = NewBuffer(op.Output.Name + ".rstd", BufferKind.Saved, leading, DType.F32, null, null);
                    float eps = (float)(op.Attribute("eps")?.AsReal ?? 1e-5);
                    kernel = new LayerNormKernel(KernelName("fwd", "layer_norm"), origins, rows, dim.Value, eps, x, _parameters[Owned(op, "weight")], _parameters[Owned(op, "bias")], y, mean, rstd);
                    break;
                }
                case OpKind.Softmax:
                {
                    var (rows, cols) = Matrix(op.Inputs[0].Shape);
                    kernel = new SoftmaxKernel(KernelName("fwd", "softmax"), origins, rows, cols, x, y);
                    break;
                }
                case OpKind.Lstm:
                {
                    var shape = op.Inputs[0].Shape;
                    long hidden = op.Attribute("hidden")!.AsInteger;
                    bool sequences = op.Attribute("return_sequences")?.AsBoolean ?? false;
                    var states = sequences ? y : NewBuffer(op.Output.Name + ".states", BufferKind.Saved, new Shape(shape[0], shape[1], Dim.Known(hidden)), DType.F32, null, null);
                    // The part the plan fixes: the activated gates and the cells, [B, T, 4H + H], plus the step inputs h_prev [B, T, H];
                    // the runtime adds dh and dc [B, H] each (Lstm.WorkspaceSize).
                    var workspace = NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], shape[1], Dim.Known(6 * hidden)), DType.F32, null, null);
                    kernel = new LstmKernel(KernelName("fwd", "lstm"), origins, shape[0], shape[1], shape.Last.Value, hidden, x,
                        _parameters[Owned(op, "weight_ih")], _parameters[Owned(op, "weight_hh")], _parameters[Owned(op, "bias_ih")], _parameters[Owned(op, "bias_hh")],
                        states, sequences ? null : y, workspace);
                    break;
                }
                case OpKind.Concat:
                    kernel = ConcatForward(op, origins);
                    break;
                default:
                    throw new System.InvalidOperationException($"{op.Kind.ToSource()} has no layer kernel");
            }
            _layerForward[op] = kernel;
            return new[] { kernel };
        }

        /// <summary>The backward kernels of a layer group; run once the gradient of its output is complete.</summary>
        private IEnumerable<Kernel> LayerBackward(OpNode op)
        {
            var origins = new[] { OriginOf(op) };
            var forward = _layerForward[op];
            var dy = Gradient(op.Output);
            bool inputGradient = _requiresGradient.Contains(op.Inputs[0].Id);
            GradientOutput? Dx() => inputGradient ? ContributeGradient(Gradient(op.Inputs[0])) : null;
            GradientOutput Dp(string role) => ContributeGradient(_parameterGradients[Owned(op, role)]);

            switch (forward)
            {
                case Conv2dKernel conv:
                {
                    var dx = Dx();
                    var dw = Dp("weight");
                    var db = conv.Bias is null ? null : Dp("bias");
                    yield return new Conv2dBackwardKernel(KernelName("bwd", "conv2d"), origins, conv.Sizes, conv.Input, conv.Weight, dy, dx, dw, db, conv.Workspace);
                    break;
                }
                case Pool2dKernel pool:
                    if (inputGradient) yield return new Pool2dBackwardKernel(KernelName("bwd", op.Kind.ToSource()), origins, pool.Kind, pool.Sizes, dy, pool.Indices, Dx()!);
                    break;
                case ReshapeKernel _:
                    // The gradients are views of each other like the values: nothing to do but say so.
                    if (inputGradient) yield return new ReshapeKernel(KernelName("bwd", op.Kind.ToSource()), origins, Gradient(op.Inputs[0]), dy);
                    break;
                case EmbeddingKernel embedding:
                    yield return new EmbeddingBackwardKernel(KernelName("bwd", "embedding"), origins, embedding.Count, embedding.Num, embedding.Dim, embedding.Ids, dy, Dp("weight"));
                    break;
                case PositionalKernel positional:
                {
                    var dx = Dx();
                    yield return new PositionalBackwardKernel(KernelName("bwd", "positional"), origins, positional.Batch, positional.Steps, positional.MaxLength, positional.Dim, dy, dx, Dp("weight"));
                    break;
                }
                case LayerNormKernel norm:
                {
                    var dx = Dx();
                    var dw = Dp("weight");
                    var db = Dp("bias");
                    yield return new LayerNormBackwardKernel(KernelName("bwd", "layer_norm"), origins, norm.Rows, norm.Dim, norm.Input, norm.Weight, norm.Mean, norm.Rstd, dy, dx, dw, db);
                    break;
                }
                case SoftmaxKernel softmax:
                    if (inputGradient) yield return new SoftmaxBackwardKernel(KernelName("bwd", "softmax"), origins, softmax.Rows, softmax.Cols, softmax.Output, dy, Dx()!);
                    break;
                case LstmKernel lstm:
                {
                    bool sequences = lstm.LastHidden is null;
                    var dx = Dx();
                    var dwih = Dp("weight_ih");
                    var dwhh = Dp("weight_hh");
                    var dbih = Dp("bias_ih");
                    var dbhh = Dp("bias_hh");
                    yield return new LstmBackwardKernel(KernelName("bwd", "lstm"), origins, lstm.Batch, lstm.Steps, lstm.InputSize, lstm.Hidden,
                        lstm.Input, lstm.WeightIh, lstm.WeightHh, lstm.HiddenStates, lstm.Workspace,
                        sequences ? dy : null, sequences ? null : dy, dx, dwih, dwhh, dbih, dbhh);
                    break;
                }
                case ConcatKernel concat:
                    foreach (var kernel in ConcatBackward(op, concat, origins)) yield return kernel;
                    break;
                default:
                    throw new System.InvalidOperationException($"{op.Kind.ToSource()} has no layer backward");
            }
        }

        /// <summary>
        /// attention's forward up to out_proj: <c>qkv = x·in_proj_weightᵀ + in_proj_bias</c> (a GEMM and a bias loop), then
        /// the attention core on q, k, v read in place from qkv. Returns the core's output, which out_proj multiplies.
        /// </summary>
        private PlanBuffer AttentionForward(OpNode op, List<Kernel> kernels)
        {
            var origins = new[] { OriginOf(op) };
            var x = Value(op.Inputs[0]);
            var shape = op.Inputs[0].Shape;
            var (m, d) = Matrix(shape);
            var d3 = Dim.Known(3 * d.Value);
            var qkv = NewBuffer(op.Output.Name + ".qkv", BufferKind.Activation, new Shape(shape[0], shape[1], d3), DType.F32, null, null);
            // qkv[M, 3d] = x[M, d] · in_proj_weight[3d, d]ᵀ
            kernels.Add(new GemmKernel(KernelName("fwd", "attention_in_proj"), origins, false, true, m, d3, d, x, _parameters[Owned(op, "in_proj_weight")], qkv, accumulate: false));
            if (OwnedOrNull(op, "in_proj_bias") is { } bias)
            {
                var add = new ElementwiseOutput(qkv, Add(Load(qkv), Column(_parameters[bias])), accumulate: false);
                kernels.Add(NewElementwise(KernelName("fwd", "attention_in_proj_bias"), origins, m, d3, new[] { add }, new ColumnSumOutput[0]));
            }

            long heads = op.Attribute("heads")!.AsInteger;
            bool causal = op.Attribute("causal")?.AsBoolean ?? false;
            var context = NewBuffer(op.Output.Name + ".context", BufferKind.Activation, shape, DType.F32, null, null);
            // The part of the workspace the plan fixes: the probabilities P [B, heads, T, T]; the runtime adds the backward's per-thread scratch.
            var workspace = NewBuffer(op.Output.Name + ".workspace", BufferKind.Workspace, new Shape(shape[0], Dim.Known(heads), shape[1], shape[1]), DType.F32, null, null);
            var core = new AttentionKernel(KernelName("fwd", "attention"), origins, shape[0], shape[1], heads, d.Value / heads, causal, qkv, context, workspace);
            kernels.Add(core);
            _layerForward[op] = core;
            _attentionContext[op] = context;
            return context;
        }

        /// <summary>The gradient of attention's core output, written by out_proj's dX GEMM.</summary>
        private PlanBuffer AttentionContextGradient(OpNode op)
        {
            if (!_attentionContextGradient.TryGetValue(op, out var buffer))
            {
                var context = _attentionContext[op];
                buffer = NewBuffer("d_" + op.Output.Name + ".context", BufferKind.Gradient, context.Shape, DType.F32, null, null);
                _attentionContextGradient[op] = buffer;
            }
            return buffer;
        }

        /// <summary>
        /// attention's backward below out_proj: the core's backward into dqkv, then in_proj's:
        /// <c>d_in_proj_bias (+)= Σ_rows dqkv</c>, <c>d_in_proj_weight (+)= dqkvᵀ·x</c>, <c>dx (+)= dqkv·in_proj_weight</c>.
        /// </summary>
        private IEnumerable<Kernel> AttentionBackward(OpNode op)
        {
            var origins = new[] { OriginOf(op) };
            var core = (AttentionKernel)_layerForward[op];
            var qkv = core.Qkv;
            var dqkv = NewBuffer("d_" + op.Output.Name + ".qkv", BufferKind.Gradient, qkv.Shape, DType.F32, null, null);
            yield return new AttentionBackwardKernel(KernelName("bwd", "attention"), origins, core.Batch, core.Steps, core.Heads, core.HeadDim, core.Causal,
                qkv, core.Workspace, AttentionContextGradient(op), ContributeGradient(dqkv));

            var x = Value(op.Inputs[0]);
            var (m, d) = Matrix(op.Inputs[0].Shape);
            var d3 = qkv.Shape.Last;
            if (OwnedOrNull(op, "in_proj_bias") is { } bias)
            {
                var sum = ContributeSum(_parameterGradients[bias], Load(dqkv));
                yield return NewElementwise(KernelName("bwd", "attention_in_proj_bias"), origins, m, d3, new ElementwiseOutput[0], new[] { sum });
            }
            var weight = Owned(op, "in_proj_weight");
            var dw = _parameterGradients[weight];
            // d_in_proj_weight[3d, d] (+)= dqkv[M, 3d]ᵀ · x[M, d]
            yield return new GemmKernel(KernelName("bwd", "attention_in_proj_dW"), origins, true, false, d3, d, m, dqkv, x, dw, accumulate: !FirstWrite(dw));
            if (_requiresGradient.Contains(op.Inputs[0].Id))
            {
                // dx[M, d] (+)= dqkv[M, 3d] · in_proj_weight[3d, d]
                var dx = Gradient(op.Inputs[0]);
                yield return new GemmKernel(KernelName("bwd", "attention_in_proj_dX"), origins, false, false, m, d, d3, dqkv, _parameters[weight], dx, accumulate: !FirstWrite(dx));
            }
        }

        private static Conv2dSizes ConvSizes(OpNode op)
        {
            var input = op.Inputs[0].Shape;
            var output = op.Output.Shape;
            return new Conv2dSizes(input[0], input[1], input[2], input[3], output[1].Value,
                op.Attribute("kernel")!.AsInteger, op.Attribute("stride")!.AsInteger, op.Attribute("padding")!.AsInteger, output[2], output[3]);
        }

        private static Pool2dSizes PoolSizes(OpNode op)
        {
            var input = op.Inputs[0].Shape;
            var output = op.Output.Shape;
            return new Pool2dSizes(input[0], input[1], input[2], input[3],
                op.Attribute("kernel")!.AsInteger, op.Attribute("stride")!.AsInteger, op.Attribute("padding")!.AsInteger, output[2], output[3]);
        }

        /// <summary>A limit on a symbolic size, checked where the input that binds its (first) symbol is bound.</summary>
        private SizeLimit LimitOf(Dim size, long maximum, Origin origin, string layer)
        {
            string symbol = size.Symbols[0];
            var input = _model.Inputs.Concat(_model.Labels).First(v => v.Shape.Dims.Any(d => d.Equals(Dim.Symbol(symbol))));
            return new SizeLimit(size, maximum, _values[input.Id], size.ToExpression(), origin, layer);
        }
    }
}
