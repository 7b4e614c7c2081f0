using System.Collections.Generic;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>How a generated kernel is launched: the grid and block follow from one size of the plan.</summary>
    public enum LaunchShape
    {
        /// <summary>256 threads per block, one thread per element of <see cref="CudaLaunch.Count"/> (grid-stride beyond 65,535 blocks).</summary>
        Elements,
        /// <summary>Blocks of 32×8 threads, one block per 32 columns of <see cref="CudaLaunch.Count"/>: elementwise work plus a column sum.</summary>
        ColumnBlocks,
        /// <summary>One warp per row of <see cref="CudaLaunch.Count"/> rows, 8 rows per 256-thread block.</summary>
        WarpPerRow,
        /// <summary>A single block of 256 threads (a final reduction).</summary>
        SingleBlock,
        /// <summary>One block of 256 threads per item of <see cref="CudaLaunch.Count"/> (conv2d's bias gradient: one block per output channel).</summary>
        BlockPerItem,
        /// <summary>
        /// Grid (⌈<see cref="CudaLaunch.Count"/>/8⌉, <see cref="CudaLaunch.CountY"/>, <see cref="CudaLaunch.CountZ"/>) of 256-thread
        /// blocks: one warp per sequence row, 8 rows per block, one grid row per head and one grid layer per batch item (attention).
        /// </summary>
        HeadRows,
    }

    /// <summary>What the C# launcher passes for one kernel parameter.</summary>
    public enum ArgumentKind
    {
        /// <summary>An <c>int</c> size: <see cref="CudaArgument.Size"/> evaluated over the bound symbols.</summary>
        Size,
        /// <summary>A device pointer to <see cref="CudaArgument.Buffer"/>.</summary>
        Buffer,
        /// <summary>The <c>unsigned int</c> dropout seed of <see cref="CudaArgument.Slot"/> for the current step.</summary>
        DropoutSeed,
        /// <summary>The dropout probability of <see cref="CudaArgument.Slot"/> (0 outside training).</summary>
        DropoutProbability,
        /// <summary>The dropout scale 1/(1−p) of <see cref="CudaArgument.Slot"/> (1 outside training).</summary>
        DropoutScale,
        /// <summary>A value only the launcher knows (the optimizer's step-dependent scalars, the loss buffers): <see cref="CudaArgument.Name"/> says which.</summary>
        Special,
        /// <summary>A value fixed by the plan: an <c>int</c> (<see cref="CudaArgument.IntValue"/>: a kernel size, an accumulate flag) or a <c>float</c> (<see cref="CudaArgument.FloatValue"/>: an epsilon).</summary>
        Constant,
        /// <summary>A null pointer: an optional output or input the kernel goes without (the library kernels test for <c>nullptr</c>).</summary>
        Null,
        /// <summary>The <c>int</c> index of the host loop the launch sits in (an LSTM's time step): the launcher passes its loop variable.</summary>
        Index,
    }

    /// <summary>One parameter of a generated kernel, in declaration order.</summary>
    public sealed class CudaArgument
    {
        private CudaArgument(ArgumentKind kind, string cType, string name, Dim? size = null, PlanBuffer? buffer = null, int slot = -1,
            IReadOnlyList<Dim>? offset = null, long intValue = 0, float floatValue = 0)
        {
            Kind = kind;
            CType = cType;
            Name = name;
            Size = size;
            Buffer = buffer;
            Slot = slot;
            Offset = offset ?? NoOffset;
            IntValue = intValue;
            FloatValue = floatValue;
        }

        private static readonly IReadOnlyList<Dim> NoOffset = new Dim[0];

        public ArgumentKind Kind { get; }
        public string CType { get; }
        public string Name { get; }
        public Dim? Size { get; }
        public PlanBuffer? Buffer { get; }
        public int Slot { get; }

        /// <summary>For a <see cref="ArgumentKind.Buffer"/>: where the argument points inside it, in elements, as a sum of terms (empty: its start).</summary>
        public IReadOnlyList<Dim> Offset { get; }

        public long IntValue { get; }
        public float FloatValue { get; }

        public static CudaArgument SizeOf(string name, Dim size) => new CudaArgument(ArgumentKind.Size, "int", name, size);

        /// <summary>A generated kernel's parameter for <paramref name="buffer"/>, named <paramref name="name"/> (the CUDA emitter's identifier for it).</summary>
        public static CudaArgument Pointer(PlanBuffer buffer, string name, bool writable)
        {
            string element = buffer.DType == DType.I32 ? "int" : "float";
            return new CudaArgument(ArgumentKind.Buffer, (writable ? "" : "const ") + element + "* __restrict__", name, buffer: buffer);
        }

        public static CudaArgument Dropout(ArgumentKind kind, int slot)
        {
            string s = slot.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return kind switch
            {
                ArgumentKind.DropoutSeed => new CudaArgument(kind, "unsigned int", "seed" + s, slot: slot),
                ArgumentKind.DropoutProbability => new CudaArgument(kind, "float", "p" + s, slot: slot),
                _ => new CudaArgument(kind, "float", "scale" + s, slot: slot),
            };
        }

        public static CudaArgument Special(string cType, string name) => new CudaArgument(ArgumentKind.Special, cType, name);

        /// <summary>
        /// Parameter <paramref name="name"/> of a library kernel bound to <paramref name="buffer"/> (its root's memory for a
        /// view), <paramref name="offset"/> elements in (a sum of terms; none: the start).
        /// </summary>
        public static CudaArgument Bound(string name, PlanBuffer buffer, bool writable, params Dim[] offset)
        {
            string element = buffer.DType == DType.I32 ? "int" : "float";
            return new CudaArgument(ArgumentKind.Buffer, (writable ? "" : "const ") + element + "* __restrict__", name, buffer: buffer, offset: offset);
        }

        public static CudaArgument Constant(string name, long value) => new CudaArgument(ArgumentKind.Constant, "int", name, intValue: value);

        public static CudaArgument Constant(string name, float value) => new CudaArgument(ArgumentKind.Constant, "float", name, floatValue: value);

        /// <summary>An <c>int accumulate</c>-style flag: 1 to add, 0 to write.</summary>
        public static CudaArgument Flag(string name, bool value) => Constant(name, value ? 1 : 0);

        public static CudaArgument Null(string name, DType dtype, bool writable) =>
            new CudaArgument(ArgumentKind.Null, (writable ? "" : "const ") + (dtype == DType.I32 ? "int" : "float") + "* __restrict__", name);

        public static CudaArgument Index(string name) => new CudaArgument(ArgumentKind.Index, "int", name);

        public string Declaration => CType + " " + Name;
    }

    /// <summary>One generated kernel and how to launch it.</summary>
    public sealed class CudaLaunch
    {
        public CudaLaunch(string name, LaunchShape shape, Dim count, IReadOnlyList<CudaArgument> arguments, Dim? countY = null, Dim? countZ = null)
        {
            Name = name;
            Shape = shape;
            Count = count;
            Arguments = arguments;
            CountY = countY;
            CountZ = countZ;
        }

        /// <summary>
        /// The <c>extern "C"</c> name: the plan kernel's name (<c>fwd_1_relu</c>), a fixed one (<c>loss_mean</c>) or a layer
        /// library kernel's (<c>md_conv2d_im2col</c>).
        /// </summary>
        public string Name { get; }
        public LaunchShape Shape { get; }

        /// <summary>Elements, columns, rows or blocks, depending on <see cref="Shape"/>.</summary>
        public Dim Count { get; }

        /// <summary><see cref="LaunchShape.HeadRows"/> only: the grid's y (heads) and z (batch) extents.</summary>
        public Dim? CountY { get; }
        public Dim? CountZ { get; }

        public IReadOnlyList<CudaArgument> Arguments { get; }

        /// <summary>The argument bound to parameter <paramref name="name"/>.</summary>
        public CudaArgument Argument(string name)
        {
            foreach (var argument in Arguments)
            {
                if (argument.Name == name) return argument;
            }
            throw new System.ArgumentException($"{Name} has no parameter {name}", nameof(name));
        }
    }
}
