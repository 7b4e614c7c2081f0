using System.Collections.Generic;
using System.Linq;
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

        /// <summary><c>schedule linear|cosine|constant(...)</c>, or null (the learning rate is <c>LearningRate</c> at every step).</summary>
        public LearningRateSchedule? Schedule { get; init; }

        /// <summary>The full names of the parameters <c>freeze</c> names: no optimizer update and no optimizer state.</summary>
        public IReadOnlyCollection<string> Frozen { get; init; } = new string[0];

        public bool IsFrozen(ParameterInfo parameter) => Frozen.Contains(parameter.Name);

        /// <summary>The first <c>freeze</c> statement (for comments in generated code).</summary>
        public TextSpan FrozenSpan { get; init; }
    }

    public enum ScheduleKind
    {
        Constant,
        Linear,
        Cosine,
    }

    /// <summary>
    /// <c>schedule cosine(warmup=100, steps=1000, floor=0.1)</c>: the learning rate of each update is LearningRate times a
    /// factor of the step (ModelDsl.Runtime.Schedules). <see cref="TotalSteps"/> is null when the model leaves it to the caller
    /// (the generated TotalSteps property, which Fit and Trainer set).
    /// </summary>
    public sealed class LearningRateSchedule
    {
        public LearningRateSchedule(ScheduleKind kind, long warmup, long? totalSteps, double floor, TextSpan span)
        {
            Kind = kind;
            Warmup = warmup;
            TotalSteps = totalSteps;
            Floor = floor;
            Span = span;
        }

        public ScheduleKind Kind { get; }
        public long Warmup { get; }
        public long? TotalSteps { get; }
        public double Floor { get; }
        public TextSpan Span { get; }

        /// <summary>As written in the .model: <c>cosine(warmup=100, steps=1000, floor=0.1)</c>.</summary>
        public string Describe()
        {
            var parts = new List<string> { "warmup=" + Warmup.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (TotalSteps is { } steps) parts.Add("steps=" + steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (Kind != ScheduleKind.Constant) parts.Add("floor=" + Floor.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            return Kind.ToString().ToLowerInvariant() + "(" + string.Join(", ", parts) + ")";
        }
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
