using ModelDsl.Emit.Onnx;
using ModelDsl.IR;

namespace ModelDsl.Emit.CSharp
{
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        /// <summary>
        /// <c>ExportOnnx(path)</c>: the inference graph (<see cref="OnnxLowering"/>) as a constant description plus
        /// a call into <c>ModelDsl.Runtime.Onnx.OnnxExport</c>, which writes it with the current parameter values.
        /// </summary>
        private void EmitOnnx()
        {
            var graph = OnnxLowering.TryLower(Model, out string? error, out var unsupported);
            Section("ONNX export");
            if (graph is null)
            {
                // The method exists for every model, so code written against one model compiles against another;
                // it says at once which op stands in the way.
                string reason = unsupported is null
                    ? $"{Model.Name} cannot be exported to ONNX: {error}"
                    : $"{Model.Name} cannot be exported to ONNX: {unsupported.Kind.ToSource()} ('{unsupported.LayerPath}') at {_fileName}:{Line(unsupported.Span)} has no ONNX lowering: {Ops.OpCatalog.Of(unsupported).NotExportable}.";
                _w.Line($"/// <summary>Always throws <see cref=\"global::System.NotSupportedException\"/>: {Escape(reason)} See docs/onnx.md.</summary>");
                _w.Line($"public void ExportOnnx(string path) => throw new global::System.NotSupportedException({Quote(reason)});");
                return;
            }
            _w.Line($"/// <summary>The inference graph for ONNX export (opset {graph.Opset}; dropout is omitted, as at inference); see docs/onnx.md.</summary>");
            _w.Line($"private const string OnnxGraph = {Quote(graph.Serialize())};");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// Writes the inference graph of {Model.Name} with the current parameter values to <paramref name=\"path\"/> as an ONNX model");
            _w.Line($"/// (opset {graph.Opset}, the batch dimension symbolic, dropout omitted), atomically: a temporary file is renamed over it.");
            _w.Line("/// Refuses (<see cref=\"global::ModelDsl.Runtime.NonFiniteException\"/>) to export a NaN or ±∞ parameter unless <c>CheckFinite</c> is off.");
            _w.Line("/// </summary>");
            _w.Open("public void ExportOnnx(string path)");
            EnterGuard("ExportOnnx");
            _w.Line($"_guard.ParametersForWrite({CallerName("ExportOnnx")}, \"export\", Step);");
            _w.Line($"global::ModelDsl.Runtime.Onnx.OnnxExport.Write(path, OnnxGraph, Parameters{(Model.States.Count > 0 ? ", States" : "")});");
            _w.Close();
        }
    }
}
