using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Runtime;
using ModelDsl.Runtime.Onnx;

namespace ModelDsl.Cli.Commands;

/// <summary>
/// <c>modeldsl export-onnx &lt;file.model&gt; --weights &lt;checkpoint&gt; --out &lt;file.onnx&gt; [--model Name]</c>:
/// the model's inference graph (the same description the generated <c>ExportOnnx</c> embeds) with the weights of a
/// checkpoint (ModelDsl's own format or safetensors, told apart by content). See docs/onnx.md.
/// </summary>
internal static class ExportOnnxCommand
{
    private const string Usage = "usage: modeldsl export-onnx <file.model> --weights <checkpoint> --out <file.onnx> [--model Name]";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        string? path = null, weights = null, output = null, modelName = null;
        for (int i = 0; i < args.Count; i++)
        {
            bool hasValue = i + 1 < args.Count;
            switch (args[i])
            {
                case "--weights" when hasValue: weights = args[++i]; break;
                case "--out" when hasValue: output = args[++i]; break;
                case "--model" when hasValue: modelName = args[++i]; break;
                default:
                    if (args[i].StartsWith('-') || path is not null)
                    {
                        stderr.WriteLine(Usage);
                        return ExitCodes.Usage;
                    }
                    path = args[i];
                    break;
            }
        }
        if (path is null || weights is null || output is null)
        {
            stderr.WriteLine(Usage);
            return ExitCodes.Usage;
        }

        if (!File.Exists(path)) return Error(stderr, $"file not found: {path}");
        if (!File.Exists(weights)) return Error(stderr, $"weights file not found: {weights}");

        var result = Compilation.Compile(ModelSource.Read(path));
        foreach (var diagnostic in result.Diagnostics) stderr.WriteLine(diagnostic.Format(result.Text));
        if (result.HasErrors) return ExitCodes.Errors;

        ModelGraph? model;
        if (modelName is not null)
        {
            model = result.Models.FirstOrDefault(m => m.Name == modelName);
            if (model is null)
                return Error(stderr, $"{path} has no model '{modelName}' (it has: {string.Join(", ", result.Models.Select(m => m.Name))})");
        }
        else if (result.Models.Count == 1)
        {
            model = result.Models[0];
        }
        else
        {
            return Error(stderr, result.Models.Count == 0
                ? $"{path} defines no model"
                : $"{path} defines {result.Models.Count} models ({string.Join(", ", result.Models.Select(m => m.Name))}); pick one with --model");
        }

        var graph = OnnxLowering.TryLower(model, out string? reason);
        if (graph is null) return Error(stderr, $"cannot export {model.Name}: {reason}");

        var parameters = model.Parameters
            .Select(p => new Parameter(p.Name, p.Shape.Dims.Select(d => checked((int)d.Value)).ToArray(), $"{Path.GetFileName(path)}"))
            .ToList();
        try
        {
            if (IsModelDslCheckpoint(weights)) Checkpoint.Load(weights, model.Name, parameters);
            else Safetensors.Load(weights, model.Name, parameters);
            OnnxExport.Write(output, graph.Serialize(), parameters);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Error(stderr, e.Message);
        }

        stdout.WriteLine($"wrote {output}: {model.Name}, opset {graph.Opset}, {graph.Nodes.Count} nodes, {parameters.Sum(p => p.Length):N0} parameters");
        return ExitCodes.Success;
    }

    /// <summary>ModelDsl checkpoints start with "MDLCKPT1"; anything else is read as safetensors.</summary>
    private static bool IsModelDslCheckpoint(string path)
    {
        Span<byte> head = stackalloc byte[8];
        using var stream = File.OpenRead(path);
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return n == 8 && head.SequenceEqual("MDLCKPT1"u8);
    }

    private static int Error(TextWriter stderr, string message)
    {
        stderr.WriteLine($"modeldsl: error: {message.ReplaceLineEndings(" ")}");
        return ExitCodes.Errors;
    }
}
