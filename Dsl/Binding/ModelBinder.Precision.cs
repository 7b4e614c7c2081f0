using System.Linq;
using ModelDsl.IR;
using ModelDsl.Syntax;

namespace ModelDsl.Binding
{
    // precision fp32|tf32|bf16 (docs/cuda.md "Precision", docs/language.md).
    internal sealed partial class ModelBinder
    {
        private static readonly (string Name, Precision Mode)[] Precisions =
        {
            ("fp32", Precision.Fp32), ("tf32", Precision.Tf32), ("bf16", Precision.Bf16),
        };

        /// <summary>The declared precision, or null after MDL0125 (a mode other than fp32, tf32, bf16).</summary>
        private PrecisionInfo? BindPrecision(PrecisionSyntax s)
        {
            foreach (var (name, mode) in Precisions)
            {
                if (name == s.Mode.Text) return new PrecisionInfo(mode, s.Span);
            }
            Diagnostics.ReportUnknownPrecision(s.Mode.Span, s.Mode.Text, Suggest.Closest(s.Mode.Text, Precisions.Select(p => p.Name), _file.Suggestions));
            return null;
        }
    }
}
