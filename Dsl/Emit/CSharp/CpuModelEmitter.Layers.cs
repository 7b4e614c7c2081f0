using System.Globalization;
using System.Linq;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Emit.CSharp
{
    /// <summary>
    /// The layer kernels as calls into <c>ModelDsl.Runtime.Cpu.Layers</c>, fully qualified (a model may be named
    /// <c>Attention</c> or <c>Lstm</c>): each is one line after a comment saying what it computes, in the plan's buffer
    /// names, with <c>=</c> or <c>+=</c> for every gradient it writes.
    /// </summary>
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private const string Layers = "global::ModelDsl.Runtime.Cpu.Layers.";

        /// <summary>
        /// Renders a layer kernel from the calls its op's rule states (<see cref="Kernel.Calls"/>): the comment, then each
        /// call, a geometry struct declared in a scope of its own first. A view is a comment only. False for a kernel that
        /// is neither (GEMM and elementwise are elsewhere).
        /// </summary>
        private bool EmitLayerKernel(Kernel kernel)
        {
            if (kernel.Calls is { } calls)
            {
                _w.Line("// " + Comment(calls.Comment));
                foreach (var call in calls.Calls)
                {
                    string line = $"{Layers}{call.Class}.{call.Method}({string.Join(", ", call.Arguments.Select(LayerArgument))});";
                    if (call.Geometry is { } geometry) Scoped($"var geometry = {Geometry(geometry)};", line);
                    else _w.Line(line);
                }
                return true;
            }
            if (kernel is ReshapeKernel k)
            {
                _w.Line($"// {k.Output.Name}{ShapeText(k.Output.Shape)} is {k.Input.Name}{ShapeText(k.Input.Shape)} viewed with another shape: the same array ({Ref(k.Output)}), nothing to do");
                return true;
            }
            return false;
        }

        /// <summary>A runtime layer call as an expression (a geometry built in place): <c>Conv2d.WorkspaceSize(new Conv2dGeometry(...))</c>.</summary>
        private string Expression(LayerCall call) =>
            $"{Layers}{call.Class}.{call.Method}({string.Join(", ", call.Arguments.Select(a => a is GeometryArgument g ? Geometry(g) : LayerArgument(a)))})";

        private string Geometry(GeometryArgument geometry) => $"new {Layers}{geometry.Type}({string.Join(", ", geometry.Fields.Select(LayerArgument))})";

        private protected override string StateObject(IR.StateInfo state) => _stateProperties[state];

        private protected override string DropoutSeed(int slot) =>
            $"global::ModelDsl.Runtime.Cpu.Dropout.Seed(Seed, Step, {slot.ToString(System.Globalization.CultureInfo.InvariantCulture)}, DropoutStream)";

        /// <summary>A span over the buffer's array, from the offset on.</summary>
        private protected override string LayerBuffer(PlanBuffer buffer, string? offset) =>
            offset is null ? Ref(buffer) : $"global::System.MemoryExtensions.AsSpan({Ref(buffer)}, {offset})";

        /// <summary>What the workspace field's comment says a buffer is.</summary>
        private static string BufferComment(PlanBuffer b) => b.Kind switch
        {
            BufferKind.Saved => $"{b.DType.ToSource()}{ShapeText(b.Shape)}, kept by the forward for the backward",
            BufferKind.Workspace => $"working memory, at least {b.DType.ToSource()}{ShapeText(b.Shape)}: sized by the runtime",
            _ => $"{b.DType.ToSource()}{ShapeText(b.Shape)}",
        };

        private void Scoped(params string[] lines)
        {
            _w.Open("");
            foreach (var line in lines) _w.Line(line);
            _w.Close();
        }
    }
}
