using System.Linq;
using ModelDsl.Emit.Cuda;
using ModelDsl.Plan;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The layer kernels in the GPU half: one call per layer kernel into <c>ModelDsl.Cuda.Layers</c>, whose launchers run
    /// the layer library's kernels (Cuda/Kernels/*.cuh, pasted into the model's CudaSource) and the cuBLAS products
    /// between them. Like the CPU half's <c>CpuModelEmitter.Layers.cs</c>: one comment saying what the kernel computes,
    /// in the plan's buffer names, then the call, whose arguments after the <c>LayerContext</c> are those of the CPU
    /// call in <c>ModelDsl.Runtime.Cpu.Layers</c> (device pointers for spans, <c>default</c> for an empty span).
    /// </summary>
    public sealed partial class GpuHostEmitter : CSharpEmitter
    {
        private const string GpuLayers = "global::ModelDsl.Cuda.Layers.";

        /// <summary>The session's field holding the <c>LayerContext</c> (the module's library kernels and the device).</summary>
        private const string LayerContextField = "_layers";

        /// <summary>Whether the plan has a layer kernel that launches library kernels (a view launches nothing).</summary>
        private bool UsesLayerLibrary => DeclaresBf16 || _plan.Forward.Concat(_plan.Backward).Any(k => CudaEmitter.FamilyOf(k) is not null && k is not ReshapeKernel);

        /// <summary>
        /// Renders a layer kernel from the calls its op's rule states (<see cref="Kernel.Calls"/>), as the CPU half does:
        /// the comment (the rule's GPU comment where the launchers work differently), then each call on
        /// <c>ModelDsl.Cuda.Layers</c> with the <c>LayerContext</c> first and device pointers for the CPU call's spans.
        /// </summary>
        private void EmitGpuLayerKernel(Kernel kernel)
        {
            if (kernel is ReshapeKernel view)
            {
                _w.Line($"// {view.Output.Name}{ShapeText(view.Output.Shape)} is {view.Input.Name}{ShapeText(view.Input.Shape)} viewed with another shape: the same device memory ({DeviceRef(view.Output)}), nothing to do");
                return;
            }
            var calls = kernel.Calls ?? throw new System.NotSupportedException($"{kernel.Name}: the GPU emitter does not render {kernel.GetType().Name} (its rule states no calls)");
            foreach (var line in Comment(calls.GpuComment ?? calls.Comment).Split('\n')) _w.Line("// " + line);
            foreach (var call in calls.GpuCalls ?? calls.Calls)
            {
                string text = $"{GpuLayers}{call.Class}.{call.Method}({LayerContextField}, {string.Join(", ", call.Arguments.Select(LayerArgument))});";
                if (call.Geometry is { } geometry)
                    Scoped($"var geometry = new global::ModelDsl.Runtime.Cpu.Layers.{geometry.Type}({string.Join(", ", geometry.Fields.Select(LayerArgument))});", text);
                else _w.Line(text);
            }
        }

        /// <summary>A device pointer, <c>.Plus(offset)</c> past the buffer's start.</summary>
        private protected override string StateObject(IR.StateInfo state) => "_model." + _stateProperties[state];

        /// <summary>
        /// Where slot <paramref name="slot"/>'s seed for this step lies in device memory (<c>_dropoutSeeds</c>, written by
        /// <c>UploadDropoutSeeds</c> before each step): the launchers' kernels read it there, as the generated dropout loops
        /// do, so a replayed CUDA graph draws each step's mask.
        /// </summary>
        private protected override string DropoutSeed(int slot) =>
            $"_dropoutSeeds.Pointer.Plus({slot.ToString(System.Globalization.CultureInfo.InvariantCulture)})";

        private protected override string LayerBuffer(PlanBuffer buffer, string? offset) =>
            offset is null ? DeviceRef(buffer)
            : DeclaresBf16 && ActivationStorage.IsActivation(buffer) ? $"{LayerContextField}.Activation({DeviceRef(buffer)}, {offset})" // md_act elements: 2 or 4 bytes
            : $"{DeviceRef(buffer)}.Plus({offset})";

        private void Scoped(params string[] lines)
        {
            _w.Open("");
            foreach (var line in lines) _w.Line(line);
            _w.Close();
        }
    }
}
