using System.Collections.Generic;
using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The layer kernels in the GPU half: launches of the layer library's kernels (<see cref="CudaModule.LayerLaunches"/>,
    /// arguments as the CUDA emitter bound them) and, between them, the cuBLAS products and host loops each library
    /// block's header describes. Like the CPU half's <c>CpuModelEmitter.Layers.cs</c>: one comment saying what the
    /// kernel computes, in the plan's buffer names, then its launches.
    /// </summary>
    public sealed partial class GpuHostEmitter : CSharpEmitter
    {
        private void EmitGpuLayerKernel(Kernel kernel, IReadOnlyList<CudaLaunch> launches)
        {
            CudaLaunch Launch(string name) => launches.First(l => l.Name == name);
            CudaLaunch? Optional(string name) => launches.FirstOrDefault(l => l.Name == name);
            switch (kernel)
            {
                case Conv2dKernel k:
                {
                    var s = k.Sizes;
                    string patch = Size(Patch(s)), plane = Size(Plane(s)), channels = Int(s.OutChannels);
                    string columnStride = Stride(Patch(s).Multiply(Plane(s))), outputStride = Stride(Plane(s).Multiply(Dim.Known(s.OutChannels)));
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = conv2d({k.Input.Name}, {k.Weight.Name}){(k.Bias is null ? "" : " + " + k.Bias.Name)}: every image's columns (im2col) "
                        + $"into {k.Workspace.Name} in one launch, then y[n] = W·col[n] for every image n in one strided-batched GEMM (cuBLAS){(k.Bias is null ? "" : ", then the bias")}");
                    EmitLaunch(Launch("md_conv2d_im2col"), special: null);
                    _w.Line($"_context.SgemmStridedBatched(false, false, {channels}, {plane}, {patch}, 1f, {DeviceRef(k.Weight)}, {patch}, 0L, "
                        + $"{DeviceRef(k.Workspace)}, {plane}, {columnStride}, 0f, {DeviceRef(k.Output)}, {plane}, {outputStride}, {Size(s.Batch)});");
                    if (Optional("md_conv2d_bias_forward") is { } bias) EmitLaunch(bias, special: null);
                    return;
                }
                case Conv2dBackwardKernel k:
                {
                    var s = k.Sizes;
                    string patch = Size(Patch(s)), plane = Size(Plane(s)), channels = Int(s.OutChannels), images = Size(s.Batch);
                    string columnStride = Stride(Patch(s).Multiply(Plane(s))), outputStride = Stride(Plane(s).Multiply(Dim.Known(s.OutChannels)));
                    var weightElements = Patch(s).Multiply(Dim.Known(s.OutChannels));
                    string weights = Size(weightElements), perImage = Stride(weightElements);
                    var dw = k.WeightGradient;
                    // The working memory after the columns: each image's dW product, then the ones (CudaEmitter.Conv2dWeightProducts).
                    string columns = DeviceRef(k.Workspace), dy = DeviceRef(k.OutputGradient);
                    string products = $"{columns}.Plus({Size(CudaEmitter.Conv2dColumns(s))})";
                    string ones = $"{columns}.Plus({Size(CudaEmitter.Conv2dColumns(s))} + {Size(CudaEmitter.Conv2dWeightProducts(s))})";
                    _w.Line($"// {Writes(dw)} Σ_images {k.OutputGradient.Name}·colᵀ{(k.BiasGradient is null ? "" : $", {Writes(k.BiasGradient)} Σ {k.OutputGradient.Name}")}"
                        + (k.InputGradient is null ? $" ({k.Input.Name} needs no gradient)" : $", {Writes(k.InputGradient)} col2im({k.Weight.Name}ᵀ·{k.OutputGradient.Name})")
                        + $": strided-batched GEMMs (cuBLAS) over the images on the columns the forward left in {k.Workspace.Name}: each image's dy·colᵀ, "
                        + "then their sum over the images as one GEMM by a row of ones"
                        + (k.InputGradient is null ? "" : ", then dcol (over the columns) and col2im over the whole batch"));
                    _w.Line($"_context.SgemmStridedBatched(false, true, {channels}, {patch}, {plane}, 1f, {dy}, {plane}, {outputStride}, "
                        + $"{columns}, {plane}, {columnStride}, 0f, {products}, {patch}, {perImage}, {images}); // P[n] = dy[n]·col[n]ᵀ");
                    _w.Line($"_context.Sgemm(false, false, 1, {weights}, {images}, 1f, {ones}, {images}, {products}, {weights}, {Beta(dw)}, {DeviceRef(dw.Buffer)}, {weights}); "
                        + $"// dW {(dw.Accumulate ? "+=" : "=")} onesᵀ·P");
                    if (k.InputGradient is not null)
                        _w.Line($"_context.SgemmStridedBatched(true, false, {patch}, {plane}, {channels}, 1f, {DeviceRef(k.Weight)}, {patch}, 0L, "
                            + $"{dy}, {plane}, {outputStride}, 0f, {columns}, {plane}, {columnStride}, {images}); // dcol[n] = Wᵀ·dy[n]");
                    if (Optional("md_conv2d_col2im") is { } col2im) EmitLaunch(col2im, special: null);
                    if (Optional("md_conv2d_bias_backward") is { } bias) EmitLaunch(bias, special: null);
                    return;
                }
                case Pool2dKernel k when k.Kind == PoolKind.Max:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = max over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input.Name}; {k.Indices!.Name} keeps the winners for the backward");
                    break;
                case Pool2dKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = mean over each {k.Sizes.Kernel}×{k.Sizes.Kernel} window of {k.Input.Name}");
                    break;
                case Pool2dBackwardKernel k when k.Kind == PoolKind.Max:
                    _w.Line($"// {Writes(k.InputGradient)} {k.OutputGradient.Name} gathered from the outputs whose winner in {k.Indices!.Name} is the element");
                    break;
                case Pool2dBackwardKernel k:
                    _w.Line($"// {Writes(k.InputGradient)} {k.OutputGradient.Name} spread evenly over each window (gathered per input element)");
                    break;
                case ReshapeKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} is {k.Input.Name}{ShapeText(k.Input.Shape)} viewed with another shape: the same device memory ({DeviceRef(k.Output)}), nothing to do");
                    return;
                case EmbeddingKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = rows of {k.Table.Name} picked by the ids in {k.Ids.Name} (checked on entry)");
                    break;
                case EmbeddingBackwardKernel k:
                    _w.Line($"// {k.TableGradient.Buffer.Name}[id] {(k.TableGradient.Accumulate ? "+=" : "= (zeroed, then) +=")} the rows of {k.OutputGradient.Name}, for each id in {k.Ids.Name} (float atomics: the order of a repeated id's adds varies on a GPU)");
                    break;
                case PositionalKernel k:
                    _w.Line($"// {k.Output.Name}[b, t] = {k.Input.Name}[b, t] + {k.Table.Name}[t]   ({Size(k.Steps)} ≤ {Int(k.MaxLength)}, checked on entry)");
                    break;
                case PositionalBackwardKernel k:
                    _w.Line($"// {k.TableGradient.Buffer.Name}[t] {(k.TableGradient.Accumulate ? "+=" : "=")} Σ_b {k.OutputGradient.Name}[b, t]" + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} {k.OutputGradient.Name}"));
                    break;
                case LayerNormKernel k:
                    _w.Line($"// {k.Output.Name} = ({k.Input.Name} − mean)·rstd·{k.Weight.Name} + {k.Bias.Name} over rows of {Int(k.Dim)}; {k.Mean.Name} and {k.Rstd.Name} kept for the backward");
                    break;
                case LayerNormBackwardKernel k:
                    _w.Line($"// {Writes(k.WeightGradient)} Σ {k.OutputGradient.Name}·x̂, {Writes(k.BiasGradient)} Σ {k.OutputGradient.Name}"
                        + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} rstd·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = {k.OutputGradient.Name}·{k.Weight.Name}"));
                    break;
                case ConcatKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = concat({string.Join(", ", k.Parts.Select(p => p.Input.Name))}) along axis {Int(k.Axis)}: "
                        + $"one launch per input, copying it into its columns of the [{Size(k.Rows)}, {Size(k.OutputWidth)}] rows");
                    break;
                case ConcatBackwardKernel k:
                    _w.Line("// " + string.Join(", ", k.Parts.Select(p => $"{Writes(p.Gradient)} {k.OutputGradient.Name}[:, {Columns(p.Offset, p.Width)}]")) + ": one launch per input");
                    break;
                case SoftmaxKernel k:
                    _w.Line($"// {k.Output.Name} = softmax({k.Input.Name}) over rows of {Size(k.Cols)}");
                    break;
                case SoftmaxBackwardKernel k:
                    _w.Line($"// {Writes(k.InputGradient)} {k.Output.Name} ⊙ ({k.OutputGradient.Name} − Σ_row {k.OutputGradient.Name}·{k.Output.Name})");
                    break;
                case LstmKernel k:
                {
                    var step = Launch("md_lstm_forward_step");
                    string gates = DeviceRef(step.Argument("gates")), h = DeviceRef(step.Argument("h"));
                    string hidden = Int(k.Hidden), g = Int(4 * k.Hidden), input = Int(k.InputSize), steps = Size(k.Steps);
                    _w.Line($"// {k.HiddenStates.Name}{ShapeText(k.HiddenStates.Shape)} = every step's hidden state of the LSTM over {k.Input.Name}"
                        + (k.LastHidden is null ? "" : $"; {k.LastHidden.Name} = the last one") + $"; {k.Workspace.Name} keeps the gates and cells for the backward.");
                    _w.Line("// The input GEMM for all steps at once, then per step the recurrent GEMM into the step's gate rows (cuBLAS) and the gate kernel.");
                    _w.Line($"_context.Sgemm(false, true, {Size(k.Batch.Multiply(k.Steps))}, {g}, {input}, 1f, {DeviceRef(k.Input)}, {input}, {DeviceRef(k.WeightIh)}, {input}, 0f, {gates}, {g});");
                    _w.Open($"for (int step = 0; step < {steps}; step++)");
                    _w.Line($"if (step > 0) _context.Sgemm(false, true, {Size(k.Batch)}, {g}, {hidden}, 1f, {h}.Plus((step - 1) * {hidden}), {Size(k.Steps.Multiply(Dim.Known(k.Hidden)))}, "
                        + $"{DeviceRef(k.WeightHh)}, {hidden}, 1f, {gates}.Plus(step * {g}), {Size(k.Steps.Multiply(Dim.Known(4 * k.Hidden)))});");
                    EmitLaunch(step, special: null, scoped: false, index: "step");
                    _w.Close();
                    return;
                }
                case LstmBackwardKernel k:
                {
                    var step = Launch("md_lstm_backward_step");
                    var shift = Launch("md_lstm_shift_hidden");
                    string gates = DeviceRef(step.Argument("gates")), dh = DeviceRef(step.Argument("dh")), hPrev = DeviceRef(shift.Argument("h_prev"));
                    string hidden = Int(k.Hidden), g = Int(4 * k.Hidden), input = Int(k.InputSize), rows = Size(k.Batch.Multiply(k.Steps));
                    string from = (k.HiddenStatesGradient ?? k.LastHiddenGradient)!.Name;
                    _w.Line($"// backpropagation through time from {from}: {Writes(k.WeightIhGradient)} …, {Writes(k.WeightHhGradient)} …, {Writes(k.BiasIhGradient)} …, {Writes(k.BiasHhGradient)} …"
                        + (k.InputGradient is null ? "" : $", {Writes(k.InputGradient)} …") + $" (the gates in {k.Workspace.Name} become their gradients dpre).");
                    _w.Line("// Per step, last to first, the gate kernel, then dh for the step before (cuBLAS); then each weight gradient is one GEMM over all B·T rows.");
                    _w.Open($"for (int step = {Size(k.Steps)} - 1; step >= 0; step--)");
                    EmitLaunch(step, special: null, scoped: false, index: "step");
                    _w.Line($"if (step > 0) _context.Sgemm(false, false, {Size(k.Batch)}, {hidden}, {g}, 1f, {gates}.Plus(step * {g}), {Size(k.Steps.Multiply(Dim.Known(4 * k.Hidden)))}, "
                        + $"{DeviceRef(k.WeightHh)}, {hidden}, 0f, {dh}, {hidden});");
                    _w.Close();
                    EmitLaunch(shift, special: null);
                    _w.Line($"_context.Sgemm(true, false, {g}, {input}, {rows}, 1f, {gates}, {g}, {DeviceRef(k.Input)}, {input}, {Beta(k.WeightIhGradient)}, {DeviceRef(k.WeightIhGradient.Buffer)}, {input});");
                    _w.Line($"_context.Sgemm(true, false, {g}, {hidden}, {rows}, 1f, {gates}, {g}, {hPrev}, {hidden}, {Beta(k.WeightHhGradient)}, {DeviceRef(k.WeightHhGradient.Buffer)}, {hidden});");
                    EmitLaunch(Launch("md_lstm_bias_backward"), special: null);
                    if (k.InputGradient is { } dx)
                        _w.Line($"_context.Sgemm(false, false, {rows}, {input}, {g}, 1f, {gates}, {g}, {DeviceRef(k.WeightIh)}, {input}, {Beta(dx)}, {DeviceRef(dx.Buffer)}, {input});");
                    return;
                }
                case AttentionKernel k:
                    _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} = softmax(q·kᵀ/√{Int(k.HeadDim)}{(k.Causal ? ", causal" : "")})·v per head ({Int(k.Heads)} heads), q, k, v read in place from {k.Qkv.Name} "
                        + $"(columns 0, {Int(k.ModelDim)}, 2·{Int(k.ModelDim)}); fused (flash-style): P is never stored, {k.Workspace.Name} keeps each row's log-sum-exp");
                    break;
                case AttentionBackwardKernel k:
                    _w.Line($"// {Writes(k.QkvGradient)} (dq, dk, dv) from {k.OutputGradient.Name}, recomputing P from q, k and the log-sum-exp in {k.Workspace.Name}: "
                        + "dq and each row's D first, then dk and dv");
                    break;
                default:
                    throw new System.NotSupportedException($"{kernel.Name}: the GPU emitter does not render {kernel.GetType().Name}");
            }
            foreach (var launch in launches) EmitLaunch(launch, special: null);
        }

        /// <summary>A strided batch's stride, in elements (a long, as cuBLAS takes it).</summary>
        private string Stride(Dim elements) => elements.IsKnown ? Int(elements.Value) + "L" : $"(long)({Size(elements)})";

        /// <summary>cuBLAS's beta for a gradient GEMM: 1 to add to what earlier kernels wrote, 0 to overwrite.</summary>
        private static string Beta(GradientOutput g) => g.Accumulate ? "1f" : "0f";

        private static Dim Patch(Conv2dSizes s) => s.Channels.Multiply(Dim.Known(s.Kernel * s.Kernel));

        private static Dim Plane(Conv2dSizes s) => s.OutHeight.Multiply(s.OutWidth);
    }
}
