using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // The training controls (clip_grad_norm, schedule, freeze, group): message text for their diagnostics lives only here.
    public sealed partial class DiagnosticBag
    {
        /// <summary>MDL0215: a control that cannot apply to this model (<paramref name="why"/>), with what to do instead.</summary>
        public void ReportControlConflict(TextSpan span, string control, string why) =>
            Report(DiagnosticCatalog.ControlConflict, span, $"{control}: {why}");

        /// <summary>MDL0120: <c>schedule X(...)</c> with an X that is not a schedule.</summary>
        public void ReportUnknownSchedule(TextSpan span, string name, string? suggestion) =>
            Report(DiagnosticCatalog.UnknownControlName, span, $"'{name}' is not a schedule{DidYouMean(suggestion)} (schedules: constant, linear, cosine)");

        /// <summary>MDL0125: a <c>precision</c> other than fp32, tf32 and bf16.</summary>
        public void ReportUnknownPrecision(TextSpan span, string name, string? suggestion) =>
            Report(DiagnosticCatalog.UnknownPrecision, span, $"'{name}' is not a precision{DidYouMean(suggestion)} (precisions: fp32, tf32, bf16)");

        /// <summary>MDL0126: <c>recompute X</c> where X is not a block of the file (<paramref name="what"/> says what it is instead).</summary>
        public void ReportRecomputeNotABlock(TextSpan span, string name, string what, string? suggestion, string blocks) =>
            Report(DiagnosticCatalog.RecomputeNamesNoBlock, span, $"'{name}' is {what}: recompute names a block the model uses{DidYouMean(suggestion)} ({blocks})");

        /// <summary>MDL0126: <c>recompute X</c> where X is a block the model never uses.</summary>
        public void ReportRecomputeUnusedBlock(TextSpan span, string name, string model) =>
            Report(DiagnosticCatalog.RecomputeNamesNoBlock, span, $"block '{name}' is not used by model '{model}', so there is nothing to recompute; remove it from the recompute statement");

        /// <summary>MDL0223: a block <c>recompute</c> names whose forward pass cannot run twice per step with the same result (<paramref name="why"/>).</summary>
        public void ReportNotRecomputable(TextSpan span, string name, string why) =>
            Report(DiagnosticCatalog.NotRecomputable, span, $"block '{name}' cannot be recomputed: {why}");

        /// <summary>MDL0327: in a bf16 model, an op whose matrix products have no BF16 version and stay FP32.</summary>
        public void ReportNoBf16Path(TextSpan span, string op, string layer, string why) =>
            Report(DiagnosticCatalog.NoBf16Path, span, $"{op} '{layer}' has no BF16 path: {why}; the rest of the model runs in bf16 (docs/cuda.md \"Precision\")");

        /// <summary>MDL0124: a group option (<paramref name="option"/>) a parameter group cannot set, <paramref name="why"/>.</summary>
        public void ReportGroupOption(TextSpan span, string group, string option, string why) =>
            Report(DiagnosticCatalog.GroupOption, span, $"group {group}: {option} {why}");

        /// <summary>MDL0220: a parameter two groups claim; names both groups and both lines.</summary>
        public void ReportParameterInTwoGroups(TextSpan span, string parameter, string first, int firstLine, string second, int secondLine) =>
            Report(DiagnosticCatalog.ParameterInTwoGroups, span,
                $"parameter '{parameter}' is in group '{first}' (line {firstLine}) and in group '{second}' (line {secondLine}); a parameter belongs to one group: narrow one of the patterns");

        /// <summary>MDL0221: a group whose every parameter is frozen, so its options change nothing.</summary>
        public void ReportGroupAllFrozen(TextSpan span, string group, int freezeLine) =>
            Report(DiagnosticCatalog.GroupAllFrozen, span,
                $"every parameter of group '{group}' is frozen (freeze on line {freezeLine}), so its options change nothing; drop the group or unfreeze its parameters");

        /// <summary>MDL0318: a schedule whose total steps do not exceed its warm-up, so it would never decay.</summary>
        public void ReportScheduleTooShort(TextSpan span, string schedule, long steps, long warmup) =>
            Report(DiagnosticCatalog.ScheduleTooShort, span, $"{schedule}: steps={steps} must be larger than warmup={warmup} (the decay runs over the steps after the warm-up)");
    }
}
