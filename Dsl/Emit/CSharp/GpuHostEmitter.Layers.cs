using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The layer kernels in the GPU half: one call per layer kernel into <c>ModelDsl.Cuda.Layers</c>, whose launchers run
    /// the layer library's kernels (Cuda/Kernels/*.cuh, pasted into the model's CudaSource) and the cuBLAS products
    /// between them. Like the CPU half's <c>CpuModelEmitter.Layers.cs</c>: one comment saying what the kernel computes,
    /// in the plan's buffer names, then the call, whose arguments after the <c>LayerContext</c> are those of the CPU
    /// call in <c>ModelDsl.Runtime.Cpu.Layers</c> (device pointers for spans, <c>default</c> for an empty span).
    /// </summary>
    public sealed partial class GpuHostEmitter : CSharpEmitter
    {
        private const string GpuLayers = "global::ModelDsl.Cuda.Layers.";

        /// <summary>The session's field holding the <c>LayerContext</c> (the module's library kernels and the device).</summary>
        private const string LayerContextField = "_layers";

        /// <summary>Whether the plan has a layer kernel that launches library kernels (a view launches nothing).</summary>
        private bool UsesLayerLibrary => _plan.Forward.Concat(_plan.Backward).Any(k => CudaEmitter.FamilyOf(k) is not null && k is not ReshapeKernel);

        private void EmitGpuLayerKernel(Kernel kernel)
        {
            string gpu = LayerContextField;
            switch (kernel)
            {
                case Conv2dKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = conv2d({k.Input.Name}, {k.Weight.Name}){(k.Bias is null ? "" : " + " + k.Bias.Name)}: every image's columns (im2col) "
                        + $"into {k.Workspace.Name} in one launch, then y[n] = W·col[n] for every image n in one strided-batched GEMM (cuBLAS){(k.Bias is null ? "" : ", then the bias")}");
                    Scoped($"var geometry = {Conv2dGeometryOf(k.Sizes)};",
                        $"{GpuLayers}Conv2d.Forward({gpu}, in geometry, {DeviceRef(k.Input)}, {DeviceRef(k.Weight)}, {DeviceOptional(k.Bias)}, {DeviceRef(k.Output)}, {DeviceRef(k.Workspace)});");
                    return;
                case Conv2dBackwardKernel k:
                {
                    bool accumulate = SameFlag(k, k.WeightGradient, k.BiasGradient);
                    _w.Line($"// {Writes(k.WeightGradient)} Σ_images {k.OutputGradient.Name}·colᵀ{(k.BiasGradient is null ? "" : $", {Writes(k.BiasGradient)} Σ {k.OutputGradient.Name}")}"
                        + (k.InputGradient is null ? $" ({k.Input.Name} needs no gradient)" : $", {Writes(k.InputGradient)} col2im({k.Weight.Name}ᵀ·{k.OutputGradient.Name})")
                        + $": strided-batched GEMMs (cuBLAS) over the images on the columns the forward left in {k.Workspace.Name}: each image's dy·colᵀ, "
                        + "then their sum over the images as one GEMM by a row of ones"
                        + (k.InputGradient is null ? "" : ", then dcol (over the columns) and col2im over the whole batch"));
                    Scoped($"var geometry = {Conv2dGeometryOf(k.Sizes)};",
                        $"{GpuLayers}Conv2d.Backward({gpu}, in geometry, {DeviceRef(k.Input)}, {DeviceRef(k.Weight)}, {DeviceRef(k.OutputGradient)}, {DeviceOptional(k.InputGradient?.Buffer)}, "
                        + $"{DeviceRef(k.WeightGradient.Buffer)}, {DeviceOptional(k.BiasGradient?.Buffer)}, {DeviceRef(k.Workspace)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateParameterGradients: {Bool(accumulate)});");
                    return;
                }
                case Pool2dKernel k when k.Kind == PoolKind.Max:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = max over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input.Name}; {k.Indices!.Name} keeps the winners for the backward");
                    Scoped($"var geometry = {Pool2dGeometryOf(k.Sizes)};",
                        $"{GpuLayers}MaxPool2d.Forward({gpu}, in geometry, {DeviceRef(k.Input)}, {DeviceRef(k.Output)}, {DeviceRef(k.Indices)});");
                    return;
                case Pool2dKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = mean over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input.Name}");
                    Scoped($"var geometry = {Pool2dGeometryOf(k.Sizes)};",
                        $"{GpuLayers}AvgPool2d.Forward({gpu}, in geometry, {DeviceRef(k.Input)}, {DeviceRef(k.Output)});");
                    return;
                case Pool2dBackwardKernel k when k.Kind == PoolKind.Max:
                    _w.Line($"// {Writes(k.InputGradient)} {k.OutputGradient.Name} gathered from the outputs whose winner in {k.Indices!.Name} is the element");
                    Scoped($"var geometry = {Pool2dGeometryOf(k.Sizes)};",
                        $"{GpuLayers}MaxPool2d.Backward({gpu}, in geometry, {DeviceRef(k.OutputGradient)}, {DeviceRef(k.Indices)}, {DeviceRef(k.InputGradient.Buffer)}, accumulate: {Bool(k.InputGradient.Accumulate)});");
                    return;
                case Pool2dBackwardKernel k:
                    _w.Line($"// {Writes(k.InputGradient)} {k.OutputGradient.Name} spread evenly over each window (gathered per input element)");
                    Scoped($"var geometry = {Pool2dGeometryOf(k.Sizes)};",
                        $"{GpuLayers}AvgPool2d.Backward({gpu}, in geometry, {DeviceRef(k.OutputGradient)}, {DeviceRef(k.InputGradient.Buffer)}, accumulate: {Bool(k.InputGradient.Accumulate)});");
                    return;
                case ReshapeKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} is {k.Input.Name}{ShapeText(k.Input.Shape)} viewed with another shape: the same device memory ({DeviceRef(k.Output)}), nothing to do");
                    return;
                case EmbeddingKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = rows of {k.Table.Name} picked by the ids in {k.Ids.Name} (checked on entry)");
                    _w.Line($"{GpuLayers}Embedding.Forward({gpu}, {Size(k.Count)}, {Int(k.Num)}, {Int(k.Dim)}, {DeviceRef(k.Ids)}, {DeviceRef(k.Table)}, {DeviceRef(k.Output)});");
                    return;
                case EmbeddingBackwardKernel k:
                    _w.Line($"// {k.TableGradient.Buffer.Name}[id] {(k.TableGradient.Accumulate ? "+=" : "= (zeroed, then) +=")} the rows of {k.OutputGradient.Name}, for each id in {k.Ids.Name} (float atomics: the order of a repeated id's adds varies on a GPU)");
                    _w.Line($"{GpuLayers}Embedding.Backward({gpu}, {Size(k.Count)}, {Int(k.Num)}, {Int(k.Dim)}, {DeviceRef(k.Ids)}, {DeviceRef(k.OutputGradient)}, {DeviceRef(k.TableGradient.Buffer)}, accumulate: {Bool(k.TableGradient.Accumulate)});");
                    return;
                case PositionalKernel k:
                    _w.Line($"// {k.Output.Name}[b, t] = {k.Input.Name}[b, t] + {k.Table.Name}[t]   ({Size(k.Steps)} ≤ {Int(k.MaxLength)}, checked on entry)");
                    _w.Line($"{GpuLayers}Positional.Forward({gpu}, {Size(k.Batch)}, {Size(k.Steps)}, {Int(k.MaxLength)}, {Int(k.Dim)}, {DeviceRef(k.Input)}, {DeviceRef(k.Table)}, {DeviceRef(k.Output)});");
                    return;
                case PositionalBackwardKernel k:
                    _w.Line($"// {k.TableGradient.Buffer.Name}[t] {(k.TableGradient.Accumulate ? "+=" : "=")} Σ_b {k.OutputGradient.Name}[b, t]" + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} {k.OutputGradient.Name}"));
                    _w.Line($"{GpuLayers}Positional.Backward({gpu}, {Size(k.Batch)}, {Size(k.Steps)}, {Int(k.MaxLength)}, {Int(k.Dim)}, {DeviceRef(k.OutputGradient)}, {DeviceOptional(k.InputGradient?.Buffer)}, {DeviceRef(k.TableGradient.Buffer)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateTableGradient: {Bool(k.TableGradient.Accumulate)});");
                    return;
                case LayerNormKernel k:
                    _w.Line($"// {k.Output.Name} = ({k.Input.Name} − mean)·rstd·{k.Weight.Name} + {k.Bias.Name} over rows of {Int(k.Dim)}; {k.Mean.Name} and {k.Rstd.Name} kept for the backward");
                    _w.Line($"{GpuLayers}LayerNorm.Forward({gpu}, {Size(k.Rows)}, {Int(k.Dim)}, {DeviceRef(k.Input)}, {DeviceRef(k.Weight)}, {DeviceRef(k.Bias)}, {DeviceRef(k.Output)}, {DeviceRef(k.Mean)}, {DeviceRef(k.Rstd)}, {Literals.CSharp(k.Epsilon)});");
                    return;
                case LayerNormBackwardKernel k:
                {
                    bool accumulate = SameFlag(k, k.WeightGradient, k.BiasGradient);
                    _w.Line($"// {Writes(k.WeightGradient)} Σ {k.OutputGradient.Name}·x̂, {Writes(k.BiasGradient)} Σ {k.OutputGradient.Name}"
                        + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} rstd·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = {k.OutputGradient.Name}·{k.Weight.Name}"));
                    _w.Line($"{GpuLayers}LayerNorm.Backward({gpu}, {Size(k.Rows)}, {Int(k.Dim)}, {DeviceRef(k.Input)}, {DeviceRef(k.Weight)}, {DeviceRef(k.Mean)}, {DeviceRef(k.Rstd)}, {DeviceRef(k.OutputGradient)}, "
                        + $"{DeviceOptional(k.InputGradient?.Buffer)}, {DeviceRef(k.WeightGradient.Buffer)}, {DeviceRef(k.BiasGradient.Buffer)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateParameterGradients: {Bool(accumulate)});");
                    return;
                }
                case ConcatKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = concat({string.Join(", ", k.Parts.Select(p => p.Input.Name))}) along axis {Int(k.Axis)}: "
                        + $"one launch per input, copying it into its columns of the [{Size(k.Rows)}, {Size(k.OutputWidth)}] rows");
                    foreach (var part in k.Parts)
                        _w.Line($"{GpuLayers}Concat.Forward({gpu}, {Size(k.Rows)}, {Size(part.Width)}, {Size(k.OutputWidth)}, {Size(part.Offset)}, {DeviceRef(part.Input)}, {DeviceRef(k.Output)});");
                    return;
                case ConcatBackwardKernel k:
                    _w.Line("// " + string.Join(", ", k.Parts.Select(p => $"{Writes(p.Gradient)} {k.OutputGradient.Name}[:, {Columns(p.Offset, p.Width)}]")) + ": one launch per input");
                    foreach (var part in k.Parts)
                        _w.Line($"{GpuLayers}Concat.Backward({gpu}, {Size(k.Rows)}, {Size(part.Width)}, {Size(k.OutputWidth)}, {Size(part.Offset)}, {DeviceRef(k.OutputGradient)}, {DeviceRef(part.Gradient.Buffer)}, accumulate: {Bool(part.Gradient.Accumulate)});");
                    return;
                case SoftmaxKernel k:
                    _w.Line($"// {k.Output.Name} = softmax({k.Input.Name}) over rows of {Size(k.Cols)}");
                    _w.Line($"{GpuLayers}Softmax.Forward({gpu}, {Size(k.Rows)}, {Size(k.Cols)}, {DeviceRef(k.Input)}, {DeviceRef(k.Output)});");
                    return;
                case SoftmaxBackwardKernel k:
                    _w.Line($"// {Writes(k.InputGradient)} {k.Output.Name} ⊙ ({k.OutputGradient.Name} − Σ_row {k.OutputGradient.Name}·{k.Output.Name})");
                    _w.Line($"{GpuLayers}Softmax.Backward({gpu}, {Size(k.Rows)}, {Size(k.Cols)}, {DeviceRef(k.Output)}, {DeviceRef(k.OutputGradient)}, {DeviceRef(k.InputGradient.Buffer)}, accumulate: {Bool(k.InputGradient.Accumulate)});");
                    return;
                case LstmKernel k:
                    _w.Line($"// {k.HiddenStates.Name}{ShapeText(k.HiddenStates.Shape)} = every step's hidden state of the LSTM over {k.Input.Name}"
                        + (k.LastHidden is null ? "" : $"; {k.LastHidden.Name} = the last one") + $"; {k.Workspace.Name} keeps the gates and cells for the backward.");
                    _w.Line("// The input GEMM for all steps at once, then per step the recurrent GEMM into the step's gate rows (cuBLAS) and the gate kernel.");
                    _w.Line($"{GpuLayers}Lstm.Forward({gpu}, {Size(k.Batch)}, {Size(k.Steps)}, {Int(k.InputSize)}, {Int(k.Hidden)}, {DeviceRef(k.Input)}, {DeviceRef(k.WeightIh)}, {DeviceRef(k.WeightHh)}, "
                        + $"{DeviceRef(k.BiasIh)}, {DeviceRef(k.BiasHh)}, {DeviceRef(k.HiddenStates)}, {DeviceOptional(k.LastHidden)}, default, {DeviceRef(k.Workspace)});");
                    return;
                case LstmBackwardKernel k:
                {
                    bool accumulate = SameFlag(k, k.WeightIhGradient, k.WeightHhGradient, k.BiasIhGradient, k.BiasHhGradient);
                    string from = (k.HiddenStatesGradient ?? k.LastHiddenGradient)!.Name;
                    _w.Line($"// backpropagation through time from {from}: {Writes(k.WeightIhGradient)} …, {Writes(k.WeightHhGradient)} …, {Writes(k.BiasIhGradient)} …, {Writes(k.BiasHhGradient)} …"
                        + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} …") + $" (the gates in {k.Workspace.Name} become their gradients dpre).");
                    _w.Line("// Per step, last to first, the gate kernel, then dh for the step before (cuBLAS); then each weight gradient is one GEMM over all B·T rows.");
                    _w.Line($"{GpuLayers}Lstm.Backward({gpu}, {Size(k.Batch)}, {Size(k.Steps)}, {Int(k.InputSize)}, {Int(k.Hidden)}, {DeviceRef(k.Input)}, {DeviceRef(k.WeightIh)}, {DeviceRef(k.WeightHh)}, {DeviceRef(k.HiddenStates)}, "
                        + $"{DeviceOptional(k.HiddenStatesGradient)}, {DeviceOptional(k.LastHiddenGradient)}, {DeviceRef(k.Workspace)}, {DeviceOptional(k.InputGradient?.Buffer)}, "
                        + $"{DeviceRef(k.WeightIhGradient.Buffer)}, {DeviceRef(k.WeightHhGradient.Buffer)}, {DeviceRef(k.BiasIhGradient.Buffer)}, {DeviceRef(k.BiasHhGradient.Buffer)}, "
                        + $"accumulateInputGradient: {Bool(k.InputGradient?.Accumulate ?? false)}, accumulateParameterGradients: {Bool(accumulate)});");
                    return;
                }
                case AttentionKernel k:
                {
                    string d = Int(k.ModelDim), qkv = DeviceRef(k.Qkv);
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = softmax(q·kᵀ/√{Int(k.HeadDim)}{(k.Causal ? ", causal" : "")})·v per head ({Int(k.Heads)} heads), q, k, v read in place from {k.Qkv.Name} "
                        + $"(columns 0, {d}, 2·{d}); fused (flash-style): P is never stored, {k.Workspace.Name} keeps each row's log-sum-exp");
                    _w.Line($"{GpuLayers}Attention.Forward({gpu}, {Size(k.Batch)}, {Size(k.Steps)}, {Int(k.Heads)}, {Int(k.HeadDim)}, causal: {Bool(k.Causal)}, "
                        + $"{qkv}, {qkv}.Plus({d}), {qkv}.Plus(2 * {d}), 3 * {d}, {DeviceRef(k.Output)}, {DeviceRef(k.Workspace)});");
                    return;
                }
                case AttentionBackwardKernel k:
                {
                    string d = Int(k.ModelDim), qkv = DeviceRef(k.Qkv), dqkv = DeviceRef(k.QkvGradient.Buffer);
                    _w.Line($"// {Writes(k.QkvGradient)} (dq, dk, dv) from {k.OutputGradient.Name}, recomputing P from q, k and the log-sum-exp in {k.Workspace.Name}: "
                        + "dq and each row's D first, then dk and dv");
                    _w.Line($"{GpuLayers}Attention.Backward({gpu}, {Size(k.Batch)}, {Size(k.Steps)}, {Int(k.Heads)}, {Int(k.HeadDim)}, causal: {Bool(k.Causal)}, "
                        + $"{qkv}, {qkv}.Plus({d}), {qkv}.Plus(2 * {d}), 3 * {d}, {DeviceRef(k.OutputGradient)}, {DeviceRef(k.Workspace)}, "
                        + $"{dqkv}, {dqkv}.Plus({d}), {dqkv}.Plus(2 * {d}), accumulate: {Bool(k.QkvGradient.Accumulate)});");
                    return;
                }
                default:
                    throw new System.NotSupportedException($"{kernel.Name}: the GPU emitter does not render {kernel.GetType().Name}");
            }
        }

        /// <summary>A device pointer the launcher may go without: <c>default</c> (null) when absent, as the CPU call's empty span.</summary>
        private string DeviceOptional(PlanBuffer? b) => b is null ? "default" : DeviceRef(b);

        private void Scoped(params string[] lines)
        {
            _w.Open("");
            foreach (var line in lines) _w.Line(line);
            _w.Close();
        }

        private string Conv2dGeometryOf(Conv2dSizes s) =>
            $"new global::ModelDsl.Runtime.Cpu.Layers.Conv2dGeometry({Size(s.Batch)}, {Size(s.Channels)}, {Size(s.Height)}, {Size(s.Width)}, {Int(s.OutChannels)}, {Int(s.Kernel)}, {Int(s.Stride)}, {Int(s.Padding)})";

        private string Pool2dGeometryOf(Pool2dSizes s) =>
            $"new global::ModelDsl.Runtime.Cpu.Layers.Pool2dGeometry({Size(s.Batch)}, {Size(s.Channels)}, {Size(s.Height)}, {Size(s.Width)}, {Int(s.Kernel)}, {Int(s.Stride)}, {Int(s.Padding)})";

        /// <summary>A launcher takes one accumulate flag for a layer's parameter gradients, as the CPU kernel does; the plan sets them alike (only dense weights are tied).</summary>
        private static bool SameFlag(Kernel kernel, params GradientOutput?[] gradients)
        {
            var flags = gradients.Where(g => g is not null).Select(g => g!.Accumulate).Distinct().ToList();
            if (flags.Count > 1) throw new System.InvalidOperationException($"{kernel.Name}: its parameter gradients are not all assigned or all accumulated");
            return flags.Count == 1 && flags[0];
        }
    }
}
