using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Emit.CSharp
{
    // LoadPretrained: the model's pretrained declaration as data (one line per parameter) and the call that loads it.
    public sealed partial class CpuModelEmitter : CSharpEmitter
    {
        private void EmitPretrained()
        {
            var pretrained = Model.Pretrained;
            if (pretrained is null) return;
            string declared = $"{_fileName}:{Line(pretrained.Span)}";
            _w.Line();
            _w.Line($"/// <summary>The pretrained weights file declared at {declared}, as written there (a relative path is found at run time: the working directory, then the application's folder); null when it is given at run time.</summary>");
            _w.Line($"public static string? PretrainedFile => {(pretrained.File is null ? "null" : Quote(pretrained.File))};");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line($"/// Where each parameter comes from in the pretrained checkpoint ({declared}): a tensor by name, <c>transpose</c> or");
            _w.Line("/// <c>concat</c> of tensors. Parameters the declaration does not name read the tensor of their own name.");
            _w.Line("/// </summary>");
            _w.Line("public static global::System.Collections.Generic.IReadOnlyDictionary<string, global::ModelDsl.Runtime.PretrainedSource> PretrainedMap { get; } =");
            _w.Open("new global::System.Collections.Generic.Dictionary<string, global::ModelDsl.Runtime.PretrainedSource>");
            foreach (var entry in pretrained.Entries)
            {
                string where = entry.Span is { } span ? $"{_fileName}:{Line(span)}" : "its own name";
                _w.Line($"// {entry.Parameter.Name} {entry.Parameter.Shape.ToExpression()} <- {entry.Source}  ({where})");
                _w.Line($"[{Quote(entry.Parameter.Name)}] = {SourceExpression(entry.Source)},");
            }
            _w.Close(";");
            _w.Line();
            _w.Line("/// <summary>");
            _w.Line("/// Loads the pretrained weights non-strictly, like PyTorch's <c>load_state_dict(strict=False)</c>: each parameter from");
            _w.Line("/// its <see cref=\"PretrainedMap\"/> source; a parameter whose source is not in the file keeps its initial values and is");
            _w.Line("/// reported missing; file tensors nothing reads are reported unexpected. Print the report. Optimizer state and");
            _w.Line("/// <c>Step</c> are unchanged; a GPU model made before this call needs <c>CopyFromHost</c>.");
            _w.Line("/// </summary>");
            _w.Line("/// <param name=\"path\">The safetensors file; null: <see cref=\"PretrainedFile\"/> in the working directory, else next to the application.</param>");
            _w.Line("/// <exception cref=\"global::System.IO.InvalidDataException\">A source's shape differs from its parameter's (every mismatch is named, with both shapes), a tensor is not float32, or the file is corrupt; nothing is changed.</exception>");
            _w.Open("public global::ModelDsl.Runtime.PretrainedReport LoadPretrained(string? path = null)");
            EnterGuard("LoadPretrained");
            string resolve = pretrained.File is null
                ? "path ?? throw new global::System.ArgumentNullException(nameof(path), \"the model's pretrained declaration names no file: pass the path\")"
                : "path ?? global::ModelDsl.Runtime.Pretrained.Resolve(PretrainedFile!)";
            _w.Line($"var report = global::ModelDsl.Runtime.Pretrained.Load({resolve}, ModelName, Parameters, PretrainedMap);");
            _w.Line("_guard.ParametersChanged();");
            _w.Line("return report;");
            _w.Close();
        }

        private static string SourceExpression(MapSource source) => source switch
        {
            MapTensor t => $"global::ModelDsl.Runtime.PretrainedSource.Tensor({Quote(t.Name)})",
            MapTranspose t => $"global::ModelDsl.Runtime.PretrainedSource.Transpose({SourceExpression(t.Source)})",
            MapConcat c => $"global::ModelDsl.Runtime.PretrainedSource.Concat({c.Axis}, {string.Join(", ", c.Sources.Select(SourceExpression))})",
            _ => throw new System.InvalidOperationException("unknown map source " + source),
        };
    }
}
