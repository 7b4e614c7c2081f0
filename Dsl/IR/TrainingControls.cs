using System.Collections.Generic;
using ModelDsl.Text;

namespace ModelDsl.IR
{
    /// <summary>
    /// The training controls a model declares next to its optimizer (docs/training.md "Training controls"), resolved by
    /// the binder: what the generated update does besides the optimizer's own arithmetic.
    /// </summary>
    public sealed class TrainingControls
    {
        public static readonly TrainingControls None = new TrainingControls();

        /// <summary><c>clip_grad_norm(max_norm)</c>, or null.</summary>
        public GradientClip? Clip { get; init; }
    }

    /// <summary>
    /// <c>clip_grad_norm(1.0)</c>: torch.nn.utils.clip_grad_norm_ with the 2-norm over every trained parameter's gradient,
    /// before each optimizer step.
    /// </summary>
    public sealed class GradientClip
    {
        public GradientClip(double maxNorm, TextSpan span)
        {
            MaxNorm = maxNorm;
            Span = span;
        }

        public double MaxNorm { get; }
        public TextSpan Span { get; }
    }
}
