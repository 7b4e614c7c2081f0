using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Cli.Onnx;
using ModelDsl.Runtime;

namespace ModelDsl.Cli.Commands;

/// <summary>
/// <c>modeldsl import-onnx &lt;model.onnx&gt; --out &lt;file.safetensors&gt;</c>: an ONNX model's float32 weights as
/// safetensors with Hugging Face names, Linear weights transposed to PyTorch's [out, in] (see
/// <see cref="OnnxWeights"/> and docs/pretrained.md).
/// </summary>
internal static class ImportOnnxCommand
{
    private const string Usage = "usage: modeldsl import-onnx <model.onnx> --out <file.safetensors>";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? path = null, output = null;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--out" && i + 1 < args.Count) output = args[++i];
            else if (args[i].StartsWith('-') || path is not null)
            {
                stderr.WriteLine(Usage);
                return ExitCodes.Usage;
            }
            else path = args[i];
        }
        if (path is null || output is null)
        {
            stderr.WriteLine(Usage);
            return ExitCodes.Usage;
        }
        if (!File.Exists(path)) return Error(stderr, $"file not found: {path}");

        OnnxImport import;
        try
        {
            import = OnnxWeights.Read(File.ReadAllBytes(path));
        }
        catch (InvalidDataException e)
        {
            return Error(stderr, $"{path}: {e.Message}");
        }
        if (import.Tensors.Count == 0) return Error(stderr, $"{path}: has no float32 weights to import");

        var writer = new SafetensorsWriter();
        writer.SetMetadata("format", "pt");
        writer.SetMetadata("source", $"modeldsl import-onnx {Path.GetFileName(path)}");
        foreach (var t in import.Tensors) writer.AddSingles(t.Name, t.Shape, t.Data);
        writer.Save(output);

        long parameters = import.Tensors.Sum(t => (long)t.Data.Length);
        int transposed = import.Tensors.Count(t => t.Transposed);
        stdout.WriteLine($"wrote {output}: {import.Tensors.Count} tensors, {parameters:N0} parameters; " +
                         $"{transposed} Linear weights named after their bias and transposed to [out, in]");
        if (import.SkippedIntegers.Count > 0)
            stdout.WriteLine($"left out {import.SkippedIntegers.Count} integer tensors (shape constants and index buffers): {Sample(import.SkippedIntegers)}");
        if (import.SkippedUnnamed.Count > 0)
            stdout.WriteLine($"left out {import.SkippedUnnamed.Count} unnamed float constants that feed no Linear layer: {Sample(import.SkippedUnnamed)}");
        return ExitCodes.Success;
    }

    private static string Sample(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(5).Select(n => $"'{n}'")) + (names.Count > 5 ? ", …" : "");

    private static int Error(TextWriter stderr, string message)
    {
        stderr.WriteLine($"modeldsl: error: {message.ReplaceLineEndings(" ")}");
        return ExitCodes.Errors;
    }
}
