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

        /// <summary>
        /// The <c>group</c> statements in source order; group <c>i</c> here is group <c>i + 1</c> of the generated code (0 is
        /// every trained parameter in no group, with the optimizer's own lr and weight_decay).
        /// </summary>
        public IReadOnlyList<ParameterGroup> Groups { get; init; } = new ParameterGroup[0];

        /// <summary>The group <paramref name="parameter"/> belongs to, or null (no group, or frozen: freeze wins over a group).</summary>
        public ParameterGroup? GroupOf(ParameterInfo parameter) => Groups.FirstOrDefault(g => g.Members.Contains(parameter.Name));

        /// <summary>The generated code's index of <paramref name="parameter"/>'s group: 0 for no group, else 1 + its place in <see cref="Groups"/>.</summary>
        public int GroupIndex(ParameterInfo parameter)
        {
            for (int i = 0; i < Groups.Count; i++)
                if (Groups[i].Members.Contains(parameter.Name)) return i + 1;
            return 0;
        }
    }

    /// <summary>
    /// <c>group no_decay(weight_decay=0) *bias, *_norm.weight</c>: parameters whose update uses their own learning rate
    /// and/or weight decay (PyTorch's param_groups). <see cref="LearningRate"/> and <see cref="WeightDecay"/> are null where
    /// the group keeps the optimizer's. A group's lr is its rate while the model's LearningRate is the optimizer's lr; the
    /// generated code scales it with LearningRate and the schedule (docs/training.md "Parameter groups").
    /// </summary>
    public sealed class ParameterGroup
    {
        public ParameterGroup(string name, double? learningRate, double? weightDecay, IReadOnlyCollection<string> members, TextSpan span)
        {
            Name = name;
            LearningRate = learningRate;
            WeightDecay = weightDecay;
            Members = members;
            Span = span;
        }

        public string Name { get; }
        public double? LearningRate { get; }
        public double? WeightDecay { get; }

        /// <summary>The full names of the trained parameters in the group (a frozen parameter its patterns name is not one).</summary>
        public IReadOnlyCollection<string> Members { get; }

        /// <summary>The <c>group</c> statement.</summary>
        public TextSpan Span { get; }

        /// <summary>The options as the .model writes them: <c>lr=0.001, weight_decay=0</c>.</summary>
        public string Describe()
        {
            var parts = new List<string>();
            if (LearningRate is { } lr) parts.Add("lr=" + lr.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            if (WeightDecay is { } wd) parts.Add("weight_decay=" + wd.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            return string.Join(", ", parts);
        }
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
