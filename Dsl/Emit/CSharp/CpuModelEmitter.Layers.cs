using System.Globalization;
using System.Linq;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The layer kernels as calls into <c>ModelDsl.Runtime.Cpu.Layers</c>, fully qualified (a model may be named
    /// <c>Attention</c> or <c>Lstm</c>): each is one line after a comment saying what it computes, in the plan's buffer
    /// names, with <c>=</c> or <c>+=</c> for every gradient it writes.
    /// </summary>
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private const string Layers = "global::ModelDsl.Runtime.Cpu.Layers.";

        /// <summary>Renders a layer kernel; false for a kind this file does not know (GEMM and elementwise are elsewhere).</summary>
        private bool EmitLayerKernel(Kernel kernel)
        {
            switch (kernel)
            {
                case Conv2dKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = conv2d({k.Input.Name}, {k.Weight.Name}){(k.Bias is null ? "" : " + " + k.Bias.Name)}: im2col and one GEMM per image, images across threads");
                    Scoped($"var geometry = {ConvGeometry(k.Sizes)};",
                        $"{Layers}Conv2d.Forward(in geometry, {Ref(k.Input)}, {Ref(k.Weight)}, {Optional(k.Bias)}, {Ref(k.Output)}, {Ref(k.Workspace)});");
                    return true;
                case Conv2dBackwardKernel k:
                {
                    bool accumulate = SameFlag(k, k.WeightGradient, k.BiasGradient);
                    _w.Line($"// {Writes(k.WeightGradient)} Σ_images {k.OutputGradient.Name}·colᵀ{(k.BiasGradient is null ? "" : $", {Writes(k.BiasGradient)} Σ {k.OutputGradient.Name}")}"
                        + (k.InputGradient is null ? $" ({k.Input.Name} needs no gradient)" : $", {Writes(k.InputGradient)} col2im({k.Weight.Name}ᵀ·{k.OutputGradient.Name})"));
                    Scoped($"var geometry = {ConvGeometry(k.Sizes)};",
                        $"{Layers}Conv2d.Backward(in geometry, {Ref(k.Input)}, {Ref(k.Weight)}, {Ref(k.OutputGradient)}, {Optional(k.InputGradient?.Buffer)}, {Ref(k.WeightGradient.Buffer)}, {Optional(k.BiasGradient?.Buffer)}, {Ref(k.Workspace)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateParameterGradients: {Bool(accumulate)});");
                    return true;
                }
                case Pool2dKernel k when k.Kind == PoolKind.Max:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = max over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input.Name}; {k.Indices!.Name} keeps the winners for the backward");
                    Scoped($"var geometry = {PoolGeometry(k.Sizes)};", $"{Layers}MaxPool2d.Forward(in geometry, {Ref(k.Input)}, {Ref(k.Output)}, {Ref(k.Indices)});");
                    return true;
                case Pool2dKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = mean over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input.Name}");
                    Scoped($"var geometry = {PoolGeometry(k.Sizes)};", $"{Layers}AvgPool2d.Forward(in geometry, {Ref(k.Input)}, {Ref(k.Output)});");
                    return true;
                case Pool2dBackwardKernel k when k.Kind == PoolKind.Max:
                    _w.Line($"// {Writes(k.InputGradient)} {k.OutputGradient.Name} scattered to the winners in {k.Indices!.Name}");
                    Scoped($"var geometry = {PoolGeometry(k.Sizes)};",
                        $"{Layers}MaxPool2d.Backward(in geometry, {Ref(k.OutputGradient)}, {Ref(k.Indices)}, {Ref(k.InputGradient.Buffer)}, accumulate: {Bool(k.InputGradient.Accumulate)});");
                    return true;
                case Pool2dBackwardKernel k:
                    _w.Line($"// {Writes(k.InputGradient)} {k.OutputGradient.Name} spread evenly over each window");
                    Scoped($"var geometry = {PoolGeometry(k.Sizes)};",
                        $"{Layers}AvgPool2d.Backward(in geometry, {Ref(k.OutputGradient)}, {Ref(k.InputGradient.Buffer)}, accumulate: {Bool(k.InputGradient.Accumulate)});");
                    return true;
                case ReshapeKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} is {k.Input.Name}{ShapeText(k.Input.Shape)} viewed with another shape: the same array ({Ref(k.Output)}), nothing to do");
                    return true;
                case EmbeddingKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = rows of {k.Table.Name} picked by the ids in {k.Ids.Name}");
                    _w.Line($"{Layers}Embedding.Forward({Size(k.Count)}, {Int(k.Num)}, {Int(k.Dim)}, {Ref(k.Ids)}, {Ref(k.Table)}, {Ref(k.Output)});");
                    return true;
                case EmbeddingBackwardKernel k:
                    _w.Line($"// {k.TableGradient.Buffer.Name}[id] {(k.TableGradient.Accumulate ? "+=" : "= (zeroed, then) +=")} the rows of {k.OutputGradient.Name}, for each id in {k.Ids.Name}");
                    _w.Line($"{Layers}Embedding.Backward({Size(k.Count)}, {Int(k.Num)}, {Int(k.Dim)}, {Ref(k.Ids)}, {Ref(k.OutputGradient)}, {Ref(k.TableGradient.Buffer)}, accumulate: {Bool(k.TableGradient.Accumulate)});");
                    return true;
                case PositionalKernel k:
                    _w.Line($"// {k.Output.Name}[b, t] = {k.Input.Name}[b, t] + {k.Table.Name}[t]   ({Size(k.Steps)} ≤ {Int(k.MaxLength)}, checked on entry)");
                    _w.Line($"{Layers}Positional.Forward({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.MaxLength)}, {Int(k.Dim)}, {Ref(k.Input)}, {Ref(k.Table)}, {Ref(k.Output)});");
                    return true;
                case PositionalBackwardKernel k:
                    _w.Line($"// {k.TableGradient.Buffer.Name}[t] {(k.TableGradient.Accumulate ? "+=" : "=")} Σ_b {k.OutputGradient.Name}[b, t]" + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} {k.OutputGradient.Name}"));
                    _w.Line($"{Layers}Positional.Backward({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.MaxLength)}, {Int(k.Dim)}, {Ref(k.OutputGradient)}, {Optional(k.InputGradient?.Buffer)}, {Ref(k.TableGradient.Buffer)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateTableGradient: {Bool(k.TableGradient.Accumulate)});");
                    return true;
                case LayerNormKernel k:
                    _w.Line($"// {k.Output.Name} = ({k.Input.Name} − mean)·rstd·{k.Weight.Name} + {k.Bias.Name} over rows of {Int(k.Dim)}; {k.Mean.Name} and {k.Rstd.Name} kept for the backward");
                    _w.Line($"{Layers}LayerNorm.Forward({Size(k.Rows)}, {Int(k.Dim)}, {Ref(k.Input)}, {Ref(k.Weight)}, {Ref(k.Bias)}, {Ref(k.Output)}, {Ref(k.Mean)}, {Ref(k.Rstd)}, {Literals.CSharp(k.Epsilon)});");
                    return true;
                case LayerNormBackwardKernel k:
                {
                    bool accumulate = SameFlag(k, k.WeightGradient, k.BiasGradient);
                    _w.Line($"// {Writes(k.WeightGradient)} Σ {k.OutputGradient.Name}·x̂, {Writes(k.BiasGradient)} Σ {k.OutputGradient.Name}"
                        + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} rstd·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = {k.OutputGradient.Name}·{k.Weight.Name}"));
                    _w.Line($"{Layers}LayerNorm.Backward({Size(k.Rows)}, {Int(k.Dim)}, {Ref(k.Input)}, {Ref(k.Weight)}, {Ref(k.Mean)}, {Ref(k.Rstd)}, {Ref(k.OutputGradient)}, "
                        + $"{Optional(k.InputGradient?.Buffer)}, {Ref(k.WeightGradient.Buffer)}, {Ref(k.BiasGradient.Buffer)}, accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateParameterGradients: {Bool(accumulate)});");
                    return true;
                }
                case ConcatKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = concat({string.Join(", ", k.Parts.Select(p => p.Input.Name))}) along axis {Int(k.Axis)}: "
                        + $"each input copied into its columns of the [{Size(k.Rows)}, {Size(k.OutputWidth)}] rows");
                    foreach (var part in k.Parts)
                        _w.Line($"{Layers}Concat.Forward({Size(k.Rows)}, {Size(part.Width)}, {Size(k.OutputWidth)}, {Size(part.Offset)}, {Ref(part.Input)}, {Ref(k.Output)});");
                    return true;
                case ConcatBackwardKernel k:
                    _w.Line("// " + string.Join(", ", k.Parts.Select(p => $"{Writes(p.Gradient)} {k.OutputGradient.Name}[:, {Columns(p.Offset, p.Width)}]")));
                    foreach (var part in k.Parts)
                        _w.Line($"{Layers}Concat.Backward({Size(k.Rows)}, {Size(part.Width)}, {Size(k.OutputWidth)}, {Size(part.Offset)}, {Ref(k.OutputGradient)}, {Ref(part.Gradient.Buffer)}, accumulate: {Bool(part.Gradient.Accumulate)});");
                    return true;
                case SoftmaxKernel k:
                    _w.Line($"// {k.Output.Name} = softmax({k.Input.Name}) over rows of {Size(k.Cols)}");
                    _w.Line($"{Layers}Softmax.Forward({Size(k.Rows)}, {Size(k.Cols)}, {Ref(k.Input)}, {Ref(k.Output)});");
                    return true;
                case SoftmaxBackwardKernel k:
                    _w.Line($"// {Writes(k.InputGradient)} {k.Output.Name} ⊙ ({k.OutputGradient.Name} − Σ_row {k.OutputGradient.Name}·{k.Output.Name})");
                    _w.Line($"{Layers}Softmax.Backward({Size(k.Rows)}, {Size(k.Cols)}, {Ref(k.Output)}, {Ref(k.OutputGradient)}, {Ref(k.InputGradient.Buffer)}, accumulate: {Bool(k.InputGradient.Accumulate)});");
                    return true;
                case LstmKernel k:
                    _w.Line($"// {k.HiddenStates.Name}{ShapeText(k.HiddenStates.Shape)} = every step's hidden state of the LSTM over {k.Input.Name}"
                        + (k.LastHidden is null ? "" : $"; {k.LastHidden.Name} = the last one") + $"; {k.Workspace.Name} keeps the gates and cells for the backward");
                    _w.Line($"{Layers}Lstm.Forward({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.InputSize)}, {Int(k.Hidden)}, {Ref(k.Input)}, {Ref(k.WeightIh)}, {Ref(k.WeightHh)}, {Ref(k.BiasIh)}, {Ref(k.BiasHh)}, "
                        + $"{Ref(k.HiddenStates)}, {Optional(k.LastHidden)}, default, {Ref(k.Workspace)});");
                    return true;
                case LstmBackwardKernel k:
                {
                    bool accumulate = SameFlag(k, k.WeightIhGradient, k.WeightHhGradient, k.BiasIhGradient, k.BiasHhGradient);
                    string from = (k.HiddenStatesGradient ?? k.LastHiddenGradient)!.Name;
                    _w.Line($"// backpropagation through time from {from}: {Writes(k.WeightIhGradient)} …, {Writes(k.WeightHhGradient)} …, {Writes(k.BiasIhGradient)} …, {Writes(k.BiasHhGradient)} …"
                        + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} …") + $" (the gates in {k.Workspace.Name} become their gradients)");
                    _w.Line($"{Layers}Lstm.Backward({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.InputSize)}, {Int(k.Hidden)}, {Ref(k.Input)}, {Ref(k.WeightIh)}, {Ref(k.WeightHh)}, {Ref(k.HiddenStates)}, "
                        + $"{Optional(k.HiddenStatesGradient)}, {Optional(k.LastHiddenGradient)}, {Ref(k.Workspace)}, {Optional(k.InputGradient?.Buffer)}, "
                        + $"{Ref(k.WeightIhGradient.Buffer)}, {Ref(k.WeightHhGradient.Buffer)}, {Ref(k.BiasIhGradient.Buffer)}, {Ref(k.BiasHhGradient.Buffer)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateParameterGradients: {Bool(accumulate)});");
                    return true;
                }
                case AttentionKernel k:
                {
                    string d = Int(k.ModelDim);
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = softmax(q·kᵀ/√{Int(k.HeadDim)}{(k.Causal ? ", causal" : "")})·v per head ({Int(k.Heads)} heads), q, k, v read in place from {k.Qkv.Name} (columns 0, {d}, 2·{d}); P kept in {k.Workspace.Name}");
                    _w.Line($"{Layers}Attention.Forward({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.Heads)}, {Int(k.HeadDim)}, causal: {Bool(k.Causal)}, "
                        + $"{Ref(k.Qkv)}, global::System.MemoryExtensions.AsSpan({Ref(k.Qkv)}, {d}), global::System.MemoryExtensions.AsSpan({Ref(k.Qkv)}, 2 * {d}), 3 * {d}, {Ref(k.Output)}, {Ref(k.Workspace)});");
                    return true;
                }
                case AttentionBackwardKernel k:
                {
                    string d = Int(k.ModelDim), dqkv = Ref(k.QkvGradient.Buffer);
                    _w.Line($"// {Writes(k.QkvGradient)} (dq, dk, dv) from {k.OutputGradient.Name} and the P saved in {k.Workspace.Name}");
                    _w.Line($"{Layers}Attention.Backward({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.Heads)}, {Int(k.HeadDim)}, causal: {Bool(k.Causal)}, "
                        + $"{Ref(k.Qkv)}, global::System.MemoryExtensions.AsSpan({Ref(k.Qkv)}, {d}), global::System.MemoryExtensions.AsSpan({Ref(k.Qkv)}, 2 * {d}), 3 * {d}, {Ref(k.OutputGradient)}, {Ref(k.Workspace)}, "
                        + $"{dqkv}, global::System.MemoryExtensions.AsSpan({dqkv}, {d}), global::System.MemoryExtensions.AsSpan({dqkv}, 2 * {d}), accumulate: {Bool(k.QkvGradient.Accumulate)});");
                    return true;
                }
                default:
                    return false;
            }
        }

        /// <summary>
        /// The length of a buffer the workspace allocates: the runtime's <c>WorkspaceSize</c> for a layer's working memory
        /// (it depends on the thread count), the element count of the shape for anything else.
        /// </summary>
        private string AllocationLength(PlanBuffer b)
        {
            if (b.Kind == BufferKind.Workspace)
            {
                foreach (var kernel in _plan.Forward)
                {
                    switch (kernel)
                    {
                        case Conv2dKernel k when k.Workspace == b: return $"{Layers}Conv2d.WorkspaceSize({ConvGeometry(k.Sizes)})";
                        case LstmKernel k when k.Workspace == b: return $"{Layers}Lstm.WorkspaceSize({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.Hidden)})";
                        case AttentionKernel k when k.Workspace == b: return $"{Layers}Attention.WorkspaceSize({Size(k.Batch)}, {Size(k.Steps)}, {Int(k.Heads)})";
                    }
                }
            }
            return Elements(b.Name, b.Shape);
        }

        /// <summary>What the workspace field's comment says a buffer is.</summary>
        private static string BufferComment(PlanBuffer b) => b.Kind switch
        {
            BufferKind.Saved => $"{b.DType.ToSource()}{ShapeText(b.Shape)}, kept by the forward for the backward",
            BufferKind.Workspace => $"working memory, at least {b.DType.ToSource()}{ShapeText(b.Shape)}: sized by the runtime",
            _ => $"{b.DType.ToSource()}{ShapeText(b.Shape)}",
        };

        private void Scoped(params string[] lines)
        {
            _w.Open("");
            foreach (var line in lines) _w.Line(line);
            _w.Close();
        }

        private string ConvGeometry(Conv2dSizes s) =>
            $"new {Layers}Conv2dGeometry({Size(s.Batch)}, {Size(s.Channels)}, {Size(s.Height)}, {Size(s.Width)}, {Int(s.OutChannels)}, {Int(s.Kernel)}, {Int(s.Stride)}, {Int(s.Padding)})";

        private string PoolGeometry(Pool2dSizes s) =>
            $"new {Layers}Pool2dGeometry({Size(s.Batch)}, {Size(s.Channels)}, {Size(s.Height)}, {Size(s.Width)}, {Int(s.Kernel)}, {Int(s.Stride)}, {Int(s.Padding)})";

        /// <summary>A buffer argument a runtime kernel may go without: <c>default</c> (an empty span) when absent.</summary>
        private string Optional(PlanBuffer? b) => b is null ? "default" : Ref(b);

        /// <summary>The runtime takes one accumulate flag for a layer's parameter gradients; the plan sets them alike (only dense weights are tied).</summary>
        private static bool SameFlag(Kernel kernel, params GradientOutput?[] gradients)
        {
            var flags = gradients.Where(g => g is not null).Select(g => g!.Accumulate).Distinct().ToList();
            if (flags.Count > 1) throw new System.InvalidOperationException($"{kernel.Name}: its parameter gradients are not all assigned or all accumulated");
            return flags.Count == 1 && flags[0];
        }
    }
}
