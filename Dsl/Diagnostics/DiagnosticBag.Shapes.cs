using ModelDsl.Shapes;
using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // MDL03xx: tensor shapes and element types. Message text for these IDs lives only here.
    public sealed partial class DiagnosticBag
    {
        private static string T(DType dtype, Shape shape) => dtype.ToSource() + shape;

        public void ReportElementwiseShapeMismatch(TextSpan span, string op, string left, Shape leftShape, string right, Shape rightShape) =>
            Report(DiagnosticCatalog.ShapeMismatch, span, $"{op} expects two tensors of the same shape, but {left} is {leftShape} and {right} is {rightShape}");

        public void ReportConcatMismatch(TextSpan span, string name, DType dtype, Shape shape, string first, DType firstType, Shape firstShape, int axis) =>
            Report(DiagnosticCatalog.ShapeMismatch, span, $"concat expects tensors equal except along axis {axis}, but {name} is {T(dtype, shape)} and {first} is {T(firstType, firstShape)}");

        public void ReportLossShapeMismatch(TextSpan span, string loss, string target, Shape expected, Shape actual) =>
            Report(DiagnosticCatalog.ShapeMismatch, span, $"{loss} expects the target {target} to have shape {expected}, but it is {actual}");

        public void ReportRankMismatch(TextSpan span, string op, string input, string rank, string layout, Shape actual) =>
            Report(DiagnosticCatalog.RankMismatch, span, $"{op} expects {input} to have rank {rank} {layout}, but it is {actual}");

        public void ReportNotDivisible(TextSpan span, string op, string input, Dim divisor, Dim dim) =>
            Report(DiagnosticCatalog.NotDivisible, span, $"{op} expects the last dimension of {input} to be divisible by heads={divisor.ToExpression()}, but it is {dim}");

        public void ReportInexactDivision(TextSpan span, string expression, string dividend, string divisor) =>
            Report(DiagnosticCatalog.NotDivisible, span, $"'{expression}' is not a whole number: {dividend} is not divisible by {divisor}");

        public void ReportDTypeMismatch(TextSpan span, string op, string input, DType expected, DType actual, Shape shape) =>
            Report(DiagnosticCatalog.DTypeMismatch, span, $"{op} expects {input} to be {expected.ToSource()}, but it is {T(actual, shape)}");

        public void ReportKernelTooLarge(TextSpan span, string op, long kernel, string axis, Dim size, long padding, string input) =>
            Report(DiagnosticCatalog.KernelTooLarge, span, $"{op} kernel {kernel} is larger than the {axis} of {input} ({size}) plus padding 2*{padding}");

        public void ReportBlockArgumentType(TextSpan span, string block, string name, string declared, string bindings, string argument, string actual) =>
            Report(DiagnosticCatalog.BlockArgumentType, span, $"{block} expects '{name}' to be {declared}{bindings}, but {argument} is {actual}");

        public void ReportInvalidTensorParameter(TextSpan span, string block, string name, string why) =>
            Report(DiagnosticCatalog.InvalidTensorParameter, span, $"tensor parameter '{name}' of block {block}: {why}");

        public void ReportMaskShape(TextSpan span, string op, string mask, Shape expected, string input, Shape actual) =>
            Report(DiagnosticCatalog.MaskShape, span, $"{op} expects the mask {mask} to be {expected} (one 0/1 per key of {input}: [B, T]), but it is {actual}");

        public void ReportUnsupportedOption(TextSpan span, string op, string option, string why, string instead) =>
            Report(DiagnosticCatalog.UnsupportedOption, span, $"{op} {option}: {why}; {instead}");

        public void ReportOneValuePerChannel(TextSpan span, string op, string input, Shape shape) =>
            Report(DiagnosticCatalog.OneValuePerChannel, span,
                $"{op} over {input} {shape} sees one value per channel: training cannot compute the batch variance (TrainStep throws, as PyTorch does); inference uses the running statistics");

        public void ReportSequenceTooLong(TextSpan span, string input, Dim length, Dim maxLen, Shape shape) =>
            Report(DiagnosticCatalog.SequenceTooLong, span, $"positional table has max_len {maxLen}, but {input} {shape} has {length} positions");

        public void ReportTiedShapeMismatch(TextSpan span, string op, string parameter, Shape tied, Shape expected) =>
            Report(DiagnosticCatalog.TiedShapeMismatch, span, $"{op} needs a weight of shape {expected}, but the tied parameter {parameter} is {tied}");

        public void ReportReshapeMismatch(TextSpan span, string input, Shape shape, Dim count, string target, Dim targetCount, bool inferred) =>
            Report(DiagnosticCatalog.ReshapeMismatch, span, inferred
                ? $"reshape cannot infer -1: {input} {shape} has {count.ToExpression()} elements, which is not a multiple of {targetCount.ToExpression()} in {target}"
                : $"reshape must keep the element count: {input} {shape} has {count.ToExpression()} elements but {target} has {targetCount.ToExpression()}");

        public void ReportSymbolicNotAllowed(TextSpan span, string op, string input, string what, Dim dim, Shape shape) =>
            Report(DiagnosticCatalog.SymbolicNotAllowed, span, $"{op} needs {what} of {input} to be known at compile time, but it is {dim.ToExpression()} in {shape}");

        /// <summary>A select index or slice bound that misses a known axis; <paramref name="detail"/> says what would fit.</summary>
        public void ReportIndexOutOfRange(TextSpan span, string op, string name, long value, int axis, Dim length, string input, string detail) =>
            Report(DiagnosticCatalog.IndexOutOfRange, span, $"{op}: {name}={value} is out of range for axis {axis} of {input}, which has {length} positions ({detail})");

        public void ReportMaskShapeMismatch(TextSpan span, string op, string mask, Shape expected, Shape actual, string input, int axis) =>
            Report(DiagnosticCatalog.MaskShapeMismatch, span, $"{op} expects the mask {mask} to have shape {expected} (the axes of {input} up to and including axis {axis}), but it is {actual}");

        public void ReportAxisOutOfRange(TextSpan span, string op, string name, long axis, int rank, string input) =>
            Report(DiagnosticCatalog.AxisOutOfRange, span, $"{op}: {name}={axis} is out of range for {input} of rank {rank} (valid: {-rank}..{rank - 1})");

        /// <summary>An op the plan has no kernels for in this use; <paramref name="reason"/> is its rule's (<c>OpRule.NotPlannable</c>).</summary>
        public void ReportNotPlannable(TextSpan span, string op, string layer, string reason) =>
            Report(DiagnosticCatalog.NotTrainable, span, $"{op} '{layer}': {reason}");

        public void ReportInputNotBindable(TextSpan span, string what, DType dtype, Shape shape, Dim dim) =>
            Report(DiagnosticCatalog.NotTrainable, span,
                $"{what} {T(dtype, shape)} has dimension {dim.ToExpression()}; each dimension of an input or label must be a number or one symbol, so the generated code can read the sizes from the tensor passed in");

        public void ReportAttentionTooWideForGpu(TextSpan span, string layer, long headDim, int maximum) =>
            Report(DiagnosticCatalog.NoGpuCode, span,
                $"attention '{layer}' has heads {headDim} wide (d/heads); the GPU kernels hold a head in shared memory, at most {maximum} wide, so the model gets no GPU half (no ToGpu) and trains on the CPU only; use more heads");

        public void ReportTooManyElements(TextSpan span, string what, string count, string per) =>
            Report(DiagnosticCatalog.TooManyElements, span,
                $"{what} holds {count} elements{per}; generated code indexes tensors with 32-bit integers and keeps each in one array, so the limit is 2,147,483,591; use smaller sizes");
    }
}
