using System.Collections.Generic;
using ModelDsl.Plan;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// Where each parameter of a plan lives on the device: all of them in one arena (their gradients and optimizer state
    /// at the same offsets of three more), so the optimizer is one launch over <see cref="Length"/> elements. The CUDA
    /// emitter sizes that launch from it and the C# emitter lays out the arenas with it.
    /// </summary>
    public sealed class ParameterArena
    {
        /// <summary>Offsets are multiples of this many floats (256 bytes: cuBLAS's preferred alignment).</summary>
        public const int Alignment = 64;

        private ParameterArena(IReadOnlyList<long> offsets, long length)
        {
            Offsets = offsets;
            Length = length;
        }

        /// <summary>The first element of each of <see cref="TrainingPlan.Parameters"/>, in order.</summary>
        public IReadOnlyList<long> Offsets { get; }

        /// <summary>Elements in the arena, the alignment padding after each parameter included.</summary>
        public long Length { get; }

        /// <summary>
        /// The arena as runs of consecutive parameters of one parameter group: [start, end) (a run ends at the next run's
        /// first offset, padding included, the last at <see cref="Length"/>), the first and last parameter's names, and the
        /// group index (0: no group; -1: frozen). For the optimizer of a model with <c>group</c> statements.
        /// </summary>
        public List<(long Start, long End, string First, string Last, int Group)> GroupRuns(TrainingPlan plan, IR.TrainingControls controls)
        {
            var runs = new List<(long, long, string, string, int)>();
            int GroupAt(int i) => controls.IsFrozen(plan.Parameters[i].Parameter!) ? -1 : controls.GroupIndex(plan.Parameters[i].Parameter!);
            int k = 0, n = plan.Parameters.Count;
            while (k < n)
            {
                int group = GroupAt(k), first = k;
                while (k < n && GroupAt(k) == group) k++;
                runs.Add((Offsets[first], k < n ? Offsets[k] : Length, plan.Parameters[first].Parameter!.Name, plan.Parameters[k - 1].Parameter!.Name, group));
            }
            return runs;
        }

        public static ParameterArena For(TrainingPlan plan)
        {
            var offsets = new List<long>();
            long length = 0;
            foreach (var parameter in plan.Parameters)
            {
                offsets.Add(length);
                long count = parameter.Shape.KnownElementCount();
                length += (count + Alignment - 1) / Alignment * Alignment;
            }
            return new ParameterArena(offsets, length);
        }
    }
}
