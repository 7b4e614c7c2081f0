using System;
using System.Collections.Generic;
using System.Linq;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    /// <summary>
    /// What a layer kernel runs, stated by its op's rule (<c>OpRule.Calls</c>) so that no emitter needs code of its own
    /// for the op: a comment saying what it computes (a template: buffers, sizes and gradients are filled in by the
    /// emitter) and one or more calls of a runtime layer method, with typed arguments. The CPU emitter renders
    /// <c>global::ModelDsl.Runtime.Cpu.Layers.{Class}.{Method}(args)</c>; the GPU host emitter the same call on
    /// <c>ModelDsl.Cuda.Layers</c> after its context (device pointers for spans).
    /// </summary>
    public sealed class LayerCalls
    {
        public LayerCalls(FormattableString comment, IReadOnlyList<LayerCall> calls)
        {
            Comment = comment;
            Calls = calls;
        }

        /// <summary>
        /// The formula in buffer names. Its arguments are <see cref="PlanBuffer"/> (the buffer's name), <see cref="Dim"/>
        /// (a size as the emitter writes it), <see cref="Shape"/>, <see cref="GradientOutput"/> (<c>d_x =</c> or <c>d_x +=</c>),
        /// numbers and text.
        /// </summary>
        public FormattableString Comment { get; }

        public IReadOnlyList<LayerCall> Calls { get; }

        /// <summary>
        /// What the GPU launchers do, where it differs from the CPU kernel (attention's fused flash-style kernels, conv2d's
        /// batched GEMMs): the GPU host's comment; lines split at <c>\n</c>. Null: the same as <see cref="Comment"/>.
        /// </summary>
        public FormattableString? GpuComment { get; private set; }

        /// <summary>These calls, with the GPU host's own comment.</summary>
        public LayerCalls OnGpu(FormattableString comment)
        {
            GpuComment = comment;
            return this;
        }

        /// <summary>
        /// The GPU host's calls where they are not the CPU's (attention on tensor cores: <c>FlashAttention.Forward</c>
        /// where the CPU calls <c>Attention.Forward</c>). Null: the same as <see cref="Calls"/>.
        /// </summary>
        public IReadOnlyList<LayerCall>? GpuCalls { get; private set; }

        /// <summary>These calls on the CPU, <paramref name="calls"/> on the GPU, with the GPU host's own comment.</summary>
        public LayerCalls OnGpu(FormattableString comment, params LayerCall[] calls)
        {
            GpuComment = comment;
            GpuCalls = calls;
            return this;
        }

        /// <summary>The working memory the calls use (<see cref="BufferKind.Workspace"/>), whose length the runtime decides.</summary>
        public PlanBuffer? Workspace { get; private set; }

        /// <summary>The runtime method that gives <see cref="Workspace"/>'s length (<c>Conv2d.WorkspaceSize(geometry)</c>).</summary>
        public LayerCall? WorkspaceSize { get; private set; }

        /// <summary>These calls, with working memory sized by <paramref name="size"/>.</summary>
        public LayerCalls WithWorkspace(PlanBuffer workspace, LayerCall size)
        {
            Workspace = workspace;
            WorkspaceSize = size;
            return this;
        }
    }

    /// <summary>A comment value: the columns <c>[Offset, Offset + Width)</c> of a row (<c>3:8</c>, <c>T : T + 2*T</c>).</summary>
    public sealed class ColumnRange
    {
        public ColumnRange(Dim offset, Dim width)
        {
            Offset = offset;
            Width = width;
        }

        public Dim Offset { get; }
        public Dim Width { get; }
    }

    /// <summary>One call: <c>{Class}.{Method}(arguments)</c> in the runtime's <c>Layers</c> namespace.</summary>
    public sealed class LayerCall
    {
        public LayerCall(string @class, string method, IReadOnlyList<LayerArgument> arguments)
        {
            Class = @class;
            Method = method;
            Arguments = arguments;
        }

        /// <summary><c>LayerNorm</c>: the class in <c>ModelDsl.Runtime.Cpu.Layers</c> (and <c>ModelDsl.Cuda.Layers</c>).</summary>
        public string Class { get; }

        /// <summary><c>Forward</c>, <c>Backward</c>.</summary>
        public string Method { get; }

        public IReadOnlyList<LayerArgument> Arguments { get; }

        /// <summary>The geometry struct the call passes by <c>in</c>, if any (the emitter declares it first).</summary>
        public GeometryArgument? Geometry => Arguments.OfType<GeometryArgument>().FirstOrDefault();
    }

    /// <summary>One argument of a <see cref="LayerCall"/>, in the runtime method's parameter order.</summary>
    public abstract class LayerArgument
    {
        private protected LayerArgument()
        {
        }
    }

    /// <summary>An <c>int</c> size that may be symbolic (<c>B * T</c>).</summary>
    public sealed class SizeArgument : LayerArgument
    {
        public SizeArgument(Dim size) => Size = size;

        public Dim Size { get; }
    }

    /// <summary>A constant <c>int</c>, written <c>Factor * Value</c> when <see cref="Factor"/> is not 1 (a row stride of <c>3 * d</c>).</summary>
    public sealed class IntArgument : LayerArgument
    {
        public IntArgument(long value, long factor = 1)
        {
            Value = value;
            Factor = factor;
        }

        public long Value { get; }
        public long Factor { get; }
    }

    public sealed class FloatArgument : LayerArgument
    {
        public FloatArgument(float value) => Value = value;

        public float Value { get; }
    }

    /// <summary>A <c>bool</c> passed by name: <c>causal: true</c>, <c>accumulate: false</c>.</summary>
    public sealed class FlagArgument : LayerArgument
    {
        public FlagArgument(string name, bool value)
        {
            Name = name;
            Value = value;
        }

        public string Name { get; }
        public bool Value { get; }
    }

    /// <summary>
    /// A buffer (a span on the CPU, a device pointer on the GPU), from element <c>OffsetFactor · Offset</c> on; null when the
    /// method goes without it (<c>default</c>, a null pointer).
    /// </summary>
    public sealed class BufferArgument : LayerArgument
    {
        public BufferArgument(PlanBuffer? buffer, long offset = 0, long offsetFactor = 1)
        {
            Buffer = buffer;
            Offset = offset;
            OffsetFactor = offsetFactor;
        }

        public PlanBuffer? Buffer { get; }
        public long Offset { get; }
        public long OffsetFactor { get; }
    }

    /// <summary>
    /// The mode of the forward pass: <c>training: training</c>, the flag <c>RunForward</c> was called with (batch_norm
    /// normalises with batch statistics and updates its running ones in training, reads the running ones at inference).
    /// </summary>
    public sealed class TrainingArgument : LayerArgument
    {
        public static readonly TrainingArgument Instance = new TrainingArgument();

        private TrainingArgument()
        {
        }
    }

    /// <summary>
    /// The probability of a dropout mask drawn inside a layer kernel (attention's probabilities), passed by name:
    /// <c>dropout: training ? p : 0f</c> (no dropout at inference). The backward pass declares <c>training</c> true, so
    /// it draws the forward's mask again. Followed by its slot's <see cref="DropoutSeedArgument"/>.
    /// </summary>
    public sealed class DropoutProbabilityArgument : LayerArgument
    {
        public DropoutProbabilityArgument(float probability) => Probability = probability;

        public float Probability { get; }
    }

    /// <summary>
    /// The seed of dropout slot <see cref="Slot"/> at this step, passed by name: <c>dropoutSeed: Dropout.Seed(Seed, Step,
    /// slot, DropoutStream)</c>, as the fused loops of the `dropout` op seed theirs.
    /// </summary>
    public sealed class DropoutSeedArgument : LayerArgument
    {
        public DropoutSeedArgument(int slot) => Slot = slot;

        public int Slot { get; }
    }

    /// <summary>
    /// A host-side counter of layer state (<see cref="IR.StateInfo.IsCounter"/>: <c>num_batches_tracked</c>), passed as the
    /// model's <c>ModelDsl.Runtime.StateBuffer</c> on the CPU and the GPU alike; the runtime counts on it.
    /// </summary>
    public sealed class CounterArgument : LayerArgument
    {
        public CounterArgument(IR.StateInfo state) => State = state;

        public IR.StateInfo State { get; }
    }

    /// <summary>A geometry struct (<c>Conv2dGeometry</c>, <c>Pool2dGeometry</c>) passed by <c>in</c>, built from its fields.</summary>
    public sealed class GeometryArgument : LayerArgument
    {
        public GeometryArgument(string type, IReadOnlyList<LayerArgument> fields)
        {
            Type = type;
            Fields = fields;
        }

        public string Type { get; }
        public IReadOnlyList<LayerArgument> Fields { get; }
    }

    /// <summary>Small constructors so op rules state their calls like the methods they call.</summary>
    public static class L
    {
        public static LayerCall Call(string @class, string method, params LayerArgument[] arguments) => new LayerCall(@class, method, arguments);
        /// <summary>What a layer kernel does: the comment, then its calls.</summary>
        public static LayerCalls Does(FormattableString comment, params LayerCall[] calls) => new LayerCalls(comment, calls);

        /// <summary>An interpolated string kept as a template (for an optional comment part: <c>x is null ? null : F($"...")</c>).</summary>
        public static FormattableString F(FormattableString text) => text;
        public static LayerArgument Size(Dim size) => new SizeArgument(size);
        public static LayerArgument Int(long value) => new IntArgument(value);
        public static LayerArgument Int(long factor, long value) => new IntArgument(value, factor);
        public static LayerArgument Float(float value) => new FloatArgument(value);
        public static LayerArgument Flag(string name, bool value) => new FlagArgument(name, value);
        public static LayerArgument Buffer(PlanBuffer? buffer) => new BufferArgument(buffer);
        public static LayerArgument Buffer(PlanBuffer buffer, long offsetFactor, long offset) => new BufferArgument(buffer, offset, offsetFactor);
        public static LayerArgument Gradient(GradientOutput? gradient) => new BufferArgument(gradient?.Buffer);
        /// <summary><c>training: training</c>: the forward pass's mode.</summary>
        public static LayerArgument Training() => TrainingArgument.Instance;
        public static LayerArgument Counter(IR.StateInfo state) => new CounterArgument(state);
        /// <summary><c>dropout: training ? p : 0f, dropoutSeed: …</c>: a dropout mask of slot <paramref name="slot"/> drawn in the kernel (two arguments).</summary>
        public static LayerArgument[] DropoutMask(int slot, float probability) => new LayerArgument[] { new DropoutProbabilityArgument(probability), new DropoutSeedArgument(slot) };
        public static LayerArgument Geometry(string type, params LayerArgument[] fields) => new GeometryArgument(type, fields);

        /// <summary>Comment parts joined into one template (null parts, the optional ones, left out).</summary>
        public static FormattableString Join(params FormattableString?[] parts)
        {
            var format = new System.Text.StringBuilder();
            var arguments = new List<object?>();
            foreach (var part in parts)
            {
                if (part is null) continue;
                int offset = arguments.Count;
                format.Append(System.Text.RegularExpressions.Regex.Replace(part.Format, @"\{(\d+)",
                    m => "{" + (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + offset).ToString(System.Globalization.CultureInfo.InvariantCulture)));
                arguments.AddRange(part.GetArguments());
            }
            return System.Runtime.CompilerServices.FormattableStringFactory.Create(format.ToString(), arguments.ToArray());
        }

        /// <summary>
        /// The runtime takes one accumulate flag for a layer's parameter gradients; the plan sets them alike (only dense
        /// weights are tied). Throws, naming the kernel, when they differ.
        /// </summary>
        public static bool SameFlag(Kernel kernel, params GradientOutput?[] gradients)
        {
            var flags = gradients.Where(g => g is not null).Select(g => g!.Accumulate).Distinct().ToList();
            if (flags.Count > 1) throw new InvalidOperationException($"{kernel.Name}: its parameter gradients are not all assigned or all accumulated");
            return flags.Count == 1 && flags[0];
        }
    }
}
