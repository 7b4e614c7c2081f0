using System.Collections.Generic;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// How a generated kernel is launched: the grid and block follow from one size of the plan. (The layer library's
    /// kernels are launched by their launchers in ModelDsl.Cuda.Layers, not described here.)
    /// </summary>
    public enum LaunchShape
    {
        /// <summary>256 threads per block, one thread per element of <see cref="CudaLaunch.Count"/> (grid-stride beyond 65,535 blocks).</summary>
        Elements,
        /// <summary>Blocks of 32×8 threads, one block per 32 columns of <see cref="CudaLaunch.Count"/>: elementwise work plus a column sum.</summary>
        ColumnBlocks,
        /// <summary>One warp per row of <see cref="CudaLaunch.Count"/> rows, 8 rows per 256-thread block.</summary>
        WarpPerRow,
        /// <summary>One block of 256 threads per row of <see cref="CudaLaunch.Count"/> rows (the fused classifier over a wide row).</summary>
        BlockPerRow,
        /// <summary>A single block of 256 threads (a final reduction).</summary>
        SingleBlock,
    }

    /// <summary>What the C# launcher passes for one kernel parameter.</summary>
    public enum ArgumentKind
    {
        /// <summary>An <c>int</c> size: <see cref="CudaArgument.Size"/> evaluated over the bound symbols.</summary>
        Size,
        /// <summary>A device pointer to <see cref="CudaArgument.Buffer"/>.</summary>
        Buffer,
        /// <summary>Where the dropout seed of <see cref="CudaArgument.Slot"/> for the current step lies in device memory (one <c>unsigned int</c>).</summary>
        DropoutSeed,
        /// <summary>The dropout probability of <see cref="CudaArgument.Slot"/> (0 outside training).</summary>
        DropoutProbability,
        /// <summary>The dropout scale 1/(1−p) of <see cref="CudaArgument.Slot"/> (1 outside training).</summary>
        DropoutScale,
        /// <summary>A value only the launcher knows (the optimizer's step-dependent scalars, the loss buffers): <see cref="CudaArgument.Name"/> says which.</summary>
        Special,
    }

    /// <summary>One parameter of a generated kernel, in declaration order.</summary>
    public sealed class CudaArgument
    {
        private CudaArgument(ArgumentKind kind, string cType, string name, Dim? size = null, PlanBuffer? buffer = null, int slot = -1)
        {
            Kind = kind;
            CType = cType;
            Name = name;
            Size = size;
            Buffer = buffer;
            Slot = slot;
        }

        public ArgumentKind Kind { get; }
        public string CType { get; }
        public string Name { get; }
        public Dim? Size { get; }
        public PlanBuffer? Buffer { get; }
        public int Slot { get; }

        public static CudaArgument SizeOf(string name, Dim size) => new CudaArgument(ArgumentKind.Size, "int", name, size);

        /// <summary>
        /// A generated kernel's parameter for <paramref name="buffer"/>, named <paramref name="name"/> (the CUDA emitter's
        /// identifier for it): <c>md_act*</c> for an activation (bf16.cuh: float, or BF16 in a Bf16 session), <c>int*</c>
        /// for ids, <c>float*</c> for everything else.
        /// </summary>
        public static CudaArgument Pointer(PlanBuffer buffer, string name, bool writable)
        {
            string element = buffer.DType == DType.I32 ? "int" : ActivationStorage.IsActivation(buffer) ? "md_act" : "float";
            return new CudaArgument(ArgumentKind.Buffer, (writable ? "" : "const ") + element + "* __restrict__", name, buffer: buffer);
        }

        public static CudaArgument Dropout(ArgumentKind kind, int slot)
        {
            string s = slot.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return kind switch
            {
                // Read from device memory, not passed by value, so a replayed CUDA graph draws the current step's masks.
                ArgumentKind.DropoutSeed => new CudaArgument(kind, "const unsigned int* __restrict__", "seed" + s, slot: slot),
                ArgumentKind.DropoutProbability => new CudaArgument(kind, "float", "p" + s, slot: slot),
                _ => new CudaArgument(kind, "float", "scale" + s, slot: slot),
            };
        }

        public static CudaArgument Special(string cType, string name) => new CudaArgument(ArgumentKind.Special, cType, name);

        public string Declaration => CType + " " + Name;
    }

    /// <summary>One generated kernel and how to launch it.</summary>
    public sealed class CudaLaunch
    {
        public CudaLaunch(string name, LaunchShape shape, Dim count, IReadOnlyList<CudaArgument> arguments)
        {
            Name = name;
            Shape = shape;
            Count = count;
            Arguments = arguments;
        }

        /// <summary>The <c>extern "C"</c> name: the plan kernel's name (<c>fwd_1_relu</c>) or a fixed one (<c>loss_mean</c>).</summary>
        public string Name { get; }
        public LaunchShape Shape { get; }

        /// <summary>Elements, columns, rows or blocks, depending on <see cref="Shape"/>.</summary>
        public Dim Count { get; }

        public IReadOnlyList<CudaArgument> Arguments { get; }
    }
}
