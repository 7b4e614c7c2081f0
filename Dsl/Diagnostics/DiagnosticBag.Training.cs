using ModelDsl.Text;

namespace ModelDsl.Diagnostics
{
    // The training controls (clip_grad_norm, schedule, freeze, group): message text for their diagnostics lives only here.
    public sealed partial class DiagnosticBag
    {
        /// <summary>MDL0215: a control that cannot apply to this model (<paramref name="why"/>), with what to do instead.</summary>
        public void ReportControlConflict(TextSpan span, string control, string why) =>
            Report(DiagnosticCatalog.ControlConflict, span, $"{control}: {why}");

    }
}
