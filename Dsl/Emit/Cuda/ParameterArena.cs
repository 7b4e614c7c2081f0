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
