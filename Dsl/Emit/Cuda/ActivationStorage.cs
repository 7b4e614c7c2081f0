using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>
    /// Which device buffers are activations, stored as bf16.cuh's <c>md_act</c> (float, or BF16 in a Bf16 session whose
    /// module is compiled with <c>MD_ACT_BF16</c>; docs/cuda.md "Precision"). Every layer family takes <c>md_act</c>
    /// pointers (tests/Dsl.Tests' PrecisionTests hold each .cuh file to it), so a bf16 model's Bf16 session stores every
    /// activation in BF16, never a mix.
    /// </summary>
    /// <remarks>
    /// An activation is a value of the model graph with f32 dtype: a forward value (its root buffer is
    /// <see cref="BufferKind.Activation"/>, attention's qkv and context included) or an f32 model input. Everything else
    /// stays float: parameters, every gradient, saved statistics (<see cref="BufferKind.Saved"/>), working memory, layer
    /// state, labels. Integer buffers stay int.
    /// </remarks>
    public static class ActivationStorage
    {
        /// <summary>True when <paramref name="buffer"/> is stored as <c>md_act</c> (a view: as its root).</summary>
        public static bool IsActivation(PlanBuffer buffer) =>
            buffer.DType == DType.F32 && buffer.Root.Kind is BufferKind.Activation or BufferKind.Input;

        /// <summary>Bytes per element of <paramref name="buffer"/> in a session whose activations are BF16 (<paramref name="bf16"/>) or not.</summary>
        public static int ElementBytes(PlanBuffer buffer, bool bf16) => bf16 && IsActivation(buffer) ? 2 : 4;

        /// <summary>True when <paramref name="family"/>'s kernels take activations as <c>md_act</c> (bf16.cuh itself has none to take).</summary>
        public static bool TakesActivations(LayerFamily family) =>
            family == LayerFamily.Bf16 || CudaLayerLibrary.Source(family).Contains("md_act*");

        /// <summary>True when a Bf16 session of <paramref name="plan"/>'s model stores its activations in BF16: the model declares <c>precision bf16</c>.</summary>
        public static bool StoresBf16(TrainingPlan plan) => plan.Model.Precision.Mode == Precision.Bf16;
    }
}
