using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>What a device allocation of the generated GPU session holds (<c>modeldsl summary --device cuda</c> prints one row per group).</summary>
    public enum GpuMemoryGroup
    {
        /// <summary>The parameter arena (every parameter at its <see cref="ParameterArena"/> offset, padding included).</summary>
        Parameters,
        /// <summary>The gradient arena, as long as the parameter arena.</summary>
        Gradients,
        /// <summary>The optimizer's state arenas (SGD's velocity, Adam's m and v, RMSprop's averages).</summary>
        OptimizerState,
        /// <summary>Untrained layer state (batch_norm's running statistics).</summary>
        LayerState,
        /// <summary>The inputs and labels each call copies in.</summary>
        Inputs,
        /// <summary>Forward values the backward pass reads: what training keeps for backward.</summary>
        ActivationsKept,
        /// <summary>Forward values no backward kernel reads (outputs, values only the next forward op reads).</summary>
        ActivationsForwardOnly,
        /// <summary>What a layer's forward keeps for its backward beside its output (layer norm's mean and 1/σ, pool winners).</summary>
        Saved,
        /// <summary>Gradients of the activations.</summary>
        ActivationGradients,
        /// <summary>Layer working memory whose size the runtime decides (conv2d columns, LSTM gates, attention statistics).</summary>
        Workspace,
        /// <summary>Loss terms, the mean loss and the Σ g² reduction of the non-finite check.</summary>
        Reductions,
        /// <summary>Values the host writes before each step for the kernels (and a replayed CUDA graph) to read: the dropout seeds.</summary>
        StepValues,
    }

    /// <summary>One device allocation: its name in the generated code, its group, and its length in floats as a sum of terms.</summary>
    public sealed class GpuAllocation
    {
        public GpuAllocation(string name, GpuMemoryGroup group, IReadOnlyList<Dim> floats, int elementBytes = 4)
        {
            Name = name;
            Group = group;
            Floats = floats;
            ElementBytes = elementBytes;
        }

        /// <summary>The field that holds it in the generated session (<c>_values</c>, <c>w.h_0</c>).</summary>
        public string Name { get; }

        public GpuMemoryGroup Group { get; }

        /// <summary>Elements of <see cref="ElementBytes"/> bytes each, as a sum of terms that may be symbolic.</summary>
        public IReadOnlyList<Dim> Floats { get; }

        /// <summary>Bytes per element: 4 (f32 and i32), or 2 for an activation of a model whose Bf16 session stores them in BF16.</summary>
        public int ElementBytes { get; }

        /// <summary>Bytes at <paramref name="bindings"/> (every symbol of <see cref="Floats"/> bound; checked arithmetic).</summary>
        public long Bytes(IReadOnlyDictionary<string, long> bindings) =>
            checked(ElementBytes * Floats.Sum(term => term.Symbols.Aggregate(term.Coefficient, (product, symbol) => checked(product * bindings[symbol]))));
    }

    /// <summary>
    /// Every device allocation the generated GPU session (<c>{Model}.Gpu</c>, <see cref="CSharp.GpuHostEmitter"/>) makes:
    /// the per-session ones (arenas, reductions), made by its constructor, and the per-binding ones (inputs, activations,
    /// gradients, working memory, loss terms), made once per binding of the symbolic dimensions by its <c>Workspace</c>.
    /// The emitter allocates <see cref="DeviceBuffers"/> from this class; a test checks the totals against what a session
    /// allocates on the emulator. Nothing is reused within a step, so the peak of one training step is the sum of both
    /// lists (a session keeps up to four bindings' workspaces; each is this size at its own binding).
    /// </summary>
    public sealed class GpuMemoryPlan
    {
        private GpuMemoryPlan(IReadOnlyList<GpuAllocation> session, IReadOnlyList<GpuAllocation> perBinding)
        {
            Session = session;
            PerBinding = perBinding;
        }

        /// <summary>Allocations made once, when the session is created.</summary>
        public IReadOnlyList<GpuAllocation> Session { get; }

        /// <summary>Allocations made once per binding of the symbolic dimensions (the session's <c>Workspace</c>).</summary>
        public IReadOnlyList<GpuAllocation> PerBinding { get; }

        public IEnumerable<GpuAllocation> All => Session.Concat(PerBinding);

        /// <summary>The plan buffers the session's <c>Workspace</c> allocates, in its field order: planned buffers (views, and buffers an epilogue keeps in registers, excluded), inputs and labels.</summary>
        public static IReadOnlyList<PlanBuffer> DeviceBuffers(TrainingPlan plan, CudaModule cuda) =>
            plan.Buffers.Where(b => (b.IsPlanned || b.Kind == BufferKind.Input || b.Kind == BufferKind.Label) && !cuda.IsUnwritten(b)).ToList();

        /// <summary>Each f32 layer state's offset in the device's state arena (multiples of 64 floats, like the parameters') and its padded length.</summary>
        public static IReadOnlyList<(long Offset, long Length)> LayerStateOffsets(TrainingPlan plan)
        {
            var result = new List<(long, long)>();
            long at = 0;
            foreach (var b in plan.States)
            {
                long padded = (b.Shape.KnownElementCount() + ParameterArena.Alignment - 1) / ParameterArena.Alignment * ParameterArena.Alignment;
                result.Add((at, padded));
                at += padded;
            }
            return result;
        }

        /// <summary>The allocations of the session <see cref="CSharp.GpuHostEmitter"/> generates for <paramref name="plan"/> and <paramref name="cuda"/>.</summary>
        public static GpuMemoryPlan For(TrainingPlan plan, CudaModule cuda)
        {
            var session = new List<GpuAllocation>();
            Dim Known(long floats) => Dim.Known(floats);
            void Add(List<GpuAllocation> list, string name, GpuMemoryGroup group, params Dim[] floats) => list.Add(new GpuAllocation(name, group, floats));

            long arena = ParameterArena.For(plan).Length;
            Add(session, "_values", GpuMemoryGroup.Parameters, Known(arena));
            Add(session, "_gradients", GpuMemoryGroup.Gradients, Known(arena));
            int states = OptimizerStateCount(plan.Model.Optimizer);
            // Arenas the optimizer does not use still get one float, so every session has the same four fields.
            Add(session, "_state1", GpuMemoryGroup.OptimizerState, Known(states >= 1 ? arena : 1));
            Add(session, "_state2", GpuMemoryGroup.OptimizerState, Known(states >= 2 ? arena : 1));
            if (cuda.GradientSumOfSquares is not null)
            {
                Add(session, "_gradientPartials", GpuMemoryGroup.Reductions, Known(cuda.GradientPartialCount));
                Add(session, "_gradientSumOfSquares", GpuMemoryGroup.Reductions, Known(1));
            }
            if (plan.DropoutSlots > 0) Add(session, "_dropoutSeeds", GpuMemoryGroup.StepValues, Known(plan.DropoutSlots));
            if (plan.States.Count > 0) Add(session, "_layerState", GpuMemoryGroup.LayerState, Known(LayerStateOffsets(plan).Sum(o => o.Length)));
            if (plan.Model.Precision.Mode == Precision.Bf16) Add(session, "_valuesBf16", GpuMemoryGroup.Parameters, Known(arena / 2)); // BF16 copy: 2 bytes each

            var kept = BuffersTheBackwardReads(plan, cuda);
            var perBinding = new List<GpuAllocation>();
            foreach (var b in DeviceBuffers(plan, cuda))
            {
                var group = b.Kind switch
                {
                    BufferKind.Input or BufferKind.Label => GpuMemoryGroup.Inputs,
                    BufferKind.Activation => kept.Contains(b) ? GpuMemoryGroup.ActivationsKept : GpuMemoryGroup.ActivationsForwardOnly,
                    BufferKind.Saved => GpuMemoryGroup.Saved,
                    BufferKind.Gradient => GpuMemoryGroup.ActivationGradients,
                    BufferKind.Workspace => GpuMemoryGroup.Workspace,
                    var other => throw new System.InvalidOperationException($"{b.Name}: a {other} buffer is not a workspace allocation"),
                };
                var floats = b.Kind == BufferKind.Workspace ? cuda.Workspaces[b].Length : new[] { b.Shape.ElementCount() };
                // In the declared bf16 a Bf16 session stores activations in BF16 (an Fp32 session of the same model: 4 bytes).
                perBinding.Add(new GpuAllocation("w." + b.Name, group, floats, ActivationStorage.ElementBytes(b, cuda.Bf16Activations)));
            }
            if (Bf16Staging(plan, cuda, operandB: false) is { } stagingA) perBinding.Add(new GpuAllocation("w.Bf16A", GpuMemoryGroup.Workspace, stagingA));
            if (Bf16Staging(plan, cuda, operandB: true) is { } stagingB) perBinding.Add(new GpuAllocation("w.Bf16B", GpuMemoryGroup.Workspace, stagingB));
            if (AuxWidening(cuda) is { } auxF32) perBinding.Add(new GpuAllocation("w.AuxF32", GpuMemoryGroup.Workspace, auxF32));
            if (plan.Loss is { } loss)
            {
                Add(perBinding, "w.LossTerms", GpuMemoryGroup.Reductions, loss.Kind == LossKind.CrossEntropy ? loss.Rows : loss.Rows.Multiply(loss.Cols));
                Add(perBinding, "w.LossValue", GpuMemoryGroup.Reductions, Known(1));
            }
            return new GpuMemoryPlan(session, perBinding);
        }

        /// <summary>
        /// Precision bf16: the floats of the staging buffer for the BF16 copy of the A (or B) operand of the plan's matrix
        /// products, where that operand is not a parameter (parameters have their BF16 copy in <c>_valuesBf16</c>) nor an
        /// activation already stored in BF16 (<see cref="CudaModule.Bf16Activations"/>): a gradient. It holds
        /// the largest such operand, at 2 bytes an element: per set of symbols the largest coefficient (rounded up to whole
        /// floats), summed over the sets, so it is as large as the largest operand at any binding. Null when the model is
        /// not bf16 or no product needs it.
        /// </summary>
        public static IReadOnlyList<Dim>? Bf16Staging(TrainingPlan plan, CudaModule cuda, bool operandB)
        {
            if (plan.Model.Precision.Mode != Precision.Bf16) return null;
            var largest = new SortedDictionary<string, (long Coefficient, IReadOnlyList<string> Symbols)>(System.StringComparer.Ordinal);
            foreach (var gemm in plan.Forward.Concat(plan.Backward).OfType<GemmKernel>())
            {
                var operand = operandB ? gemm.B : gemm.A;
                if (operand.Root.Kind == BufferKind.Parameter || (cuda.Bf16Activations && ActivationStorage.IsActivation(operand))) continue;
                var elements = operandB ? gemm.K.Multiply(gemm.N) : gemm.M.Multiply(gemm.K);
                string key = string.Join("*", elements.Symbols);
                if (!largest.TryGetValue(key, out var seen) || seen.Coefficient < elements.Coefficient) largest[key] = (elements.Coefficient, elements.Symbols);
            }
            if (largest.Count == 0) return null;
            return largest.Values.Select(t => t.Symbols.Aggregate(Dim.Known((t.Coefficient + 1) / 2), (d, s) => d.Multiply(Dim.Symbol(s)))).ToList();
        }

        /// <summary>
        /// BF16 activations with a dGELU epilogue (<see cref="EpilogueKind.GeluGradientBiasGradient"/>): the floats of the
        /// buffer the Bf16 session widens the BF16 GELU input into before the epilogue reads it in FP32 (cuBLASLt reads aux
        /// in D's type, and D is an FP32 gradient), as large as the largest such input at any binding. Null otherwise.
        /// </summary>
        public static IReadOnlyList<Dim>? AuxWidening(CudaModule cuda)
        {
            if (!cuda.Bf16Activations) return null;
            var largest = new SortedDictionary<string, (long Coefficient, IReadOnlyList<string> Symbols)>(System.StringComparer.Ordinal);
            foreach (var epilogue in cuda.Epilogues.Values.Distinct())
            {
                if (epilogue.Kind != EpilogueKind.GeluGradientBiasGradient || epilogue.Aux is not { } aux || !ActivationStorage.IsActivation(aux)) continue;
                var elements = epilogue.Gemm.M.Multiply(epilogue.Gemm.N);
                string key = string.Join("*", elements.Symbols);
                if (!largest.TryGetValue(key, out var seen) || seen.Coefficient < elements.Coefficient) largest[key] = (elements.Coefficient, elements.Symbols);
            }
            if (largest.Count == 0) return null;
            return largest.Values.Select(t => t.Symbols.Aggregate(Dim.Known(t.Coefficient), (d, s) => d.Multiply(Dim.Symbol(s)))).ToList();
        }

        /// <summary>How many optimizer state arenas the optimizer keeps (none, SGD's velocity, Adam's m and v, RMSprop's one or two).</summary>
        public static int OptimizerStateCount(OptimizerInfo? optimizer) => optimizer?.Settings switch
        {
            null => 0,
            Ops.SgdSettings => 1,
            Ops.AdamSettings => 2,
            Ops.RmspropSettings rmsprop => rmsprop.StateCount,
            var other => throw new System.InvalidOperationException($"no state count for {other.GetType().Name}"),
        };

        /// <summary>
        /// Every buffer a backward kernel names (a GEMM's operands, a generated kernel's pointer arguments, a layer call's
        /// buffers), views resolved to their roots: the forward values training keeps alive for the backward pass.
        /// </summary>
        private static HashSet<PlanBuffer> BuffersTheBackwardReads(TrainingPlan plan, CudaModule cuda)
        {
            var read = new HashSet<PlanBuffer>();
            void Add(PlanBuffer? b)
            {
                if (b is not null) read.Add(b.Root);
            }
            foreach (var kernel in plan.Backward)
            {
                if (kernel is GemmKernel gemm)
                {
                    Add(gemm.A);
                    Add(gemm.B);
                    if (cuda.Epilogues.TryGetValue(gemm, out var epilogue)) Add(epilogue.Aux); // the GELU input a dGELU epilogue reads
                }
                if (cuda.Launches.TryGetValue(kernel, out var launch))
                {
                    foreach (var argument in launch.Arguments) Add(argument.Buffer);
                }
                if (kernel.Calls is { } calls)
                {
                    foreach (var call in calls.Calls)
                    {
                        foreach (var argument in call.Arguments) AddArgument(argument);
                    }
                }
            }
            void AddArgument(LayerArgument argument)
            {
                if (argument is BufferArgument buffer) Add(buffer.Buffer);
                else if (argument is GeometryArgument geometry)
                {
                    foreach (var field in geometry.Fields) AddArgument(field);
                }
            }
            return read;
        }
    }
}
