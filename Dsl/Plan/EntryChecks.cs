using System.Collections.Generic;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    /// <summary>
    /// A size the compiler could not bound, limited by a layer: positional's sequence length T ≤ max_len. Targets check
    /// it where the symbolic dimensions bind, before any work, and name the input, the dimension and the layer.
    /// </summary>
    public sealed class SizeLimit
    {
        public SizeLimit(Dim size, long maximum, PlanBuffer input, string dimension, Origin origin, string layer)
        {
            Size = size;
            Maximum = maximum;
            Input = input;
            Dimension = dimension;
            Origin = origin;
            Layer = layer;
        }

        /// <summary>The limited size over the symbolic dimensions (<c>T</c>).</summary>
        public Dim Size { get; }

        public long Maximum { get; }

        /// <summary>The input that binds the size (the first with the dimension's symbol).</summary>
        public PlanBuffer Input { get; }

        /// <summary>The size as declared: <c>T</c>.</summary>
        public string Dimension { get; }

        public Origin Origin { get; }

        /// <summary>How messages name the layer: <c>positional(max_len=64) 'pos'</c>.</summary>
        public string Layer { get; }
    }

    /// <summary>An i32 input a layer indexes a table with (embedding ids): every value must be in [0, <see cref="Count"/>).</summary>
    public sealed class IdRange
    {
        public IdRange(PlanBuffer input, Dim length, long count, Origin origin, string layer)
        {
            Input = input;
            Length = length;
            Count = count;
            Origin = origin;
            Layer = layer;
        }

        /// <summary>The caller's input buffer.</summary>
        public PlanBuffer Input { get; }

        /// <summary>How many ids the layer reads (the input's element count).</summary>
        public Dim Length { get; }

        public long Count { get; }
        public Origin Origin { get; }

        /// <summary>How messages name the layer: <c>embedding 'tok'</c>.</summary>
        public string Layer { get; }
    }

    /// <summary>What a target checks at entry beyond the declared input shapes.</summary>
    public sealed class EntryChecks
    {
        public static readonly EntryChecks None = new EntryChecks(new SizeLimit[0], new IdRange[0]);

        public EntryChecks(IReadOnlyList<SizeLimit> sizeLimits, IReadOnlyList<IdRange> idRanges)
        {
            SizeLimits = sizeLimits;
            IdRanges = idRanges;
        }

        public IReadOnlyList<SizeLimit> SizeLimits { get; }
        public IReadOnlyList<IdRange> IdRanges { get; }
    }
}
