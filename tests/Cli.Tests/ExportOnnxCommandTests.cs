using System;
using System.IO;
using System.Linq;
using ModelDsl.Runtime;

namespace ModelDsl.Cli.Tests;

public sealed class ExportOnnxCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modeldsl-cli-onnx-" + Guid.NewGuid().ToString("N"));
    private readonly string _model = CliRunner.Example("BinaryClassifier/binary_classifier.model");

    public ExportOnnxCommandTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>The example's parameters (names and shapes from the checked model) with recognisable values.</summary>
    private Parameter[] Parameters(int shrinkLast = 0)
    {
        var result = Compilation.Compile(_model, File.ReadAllText(_model));
        return result.Models.Single().Parameters.Select((p, k) =>
        {
            var shape = p.Shape.Dims.Select(d => (int)d.Value).ToArray();
            if (k == 0 && shrinkLast > 0) shape[^1] -= shrinkLast;
            var parameter = new Parameter(p.Name, shape, "test");
            for (int i = 0; i < parameter.Value.Length; i++) parameter.Value[i] = (k + 1) * 0.001f * (i % 97);
            return parameter;
        }).ToArray();
    }

    [Theory]
    [InlineData("ckpt")]
    [InlineData("safetensors")]
    public void Exports_a_checkpoint_as_onnx(string format)
    {
        var parameters = Parameters();
        string weights = Path.Combine(_folder, "weights." + format);
        if (format == "ckpt") Checkpoint.Save(weights, "BinaryClassifier", parameters, 3);
        else Safetensors.Save(weights, "BinaryClassifier", parameters, 3);
        string output = Path.Combine(_folder, "model.onnx");

        var (exit, stdout, stderr) = CliRunner.Run("export-onnx", _model, "--weights", weights, "--out", output);

        Assert.True(exit == 0, stderr);
        Assert.Contains("wrote", stdout);
        Assert.Contains("opset 20", stdout);
        var bytes = File.ReadAllBytes(output);
        Assert.Equal(new byte[] { 0x08, 9 }, bytes.Take(2));  // ir_version 9
        Assert.True(Contains(bytes, "ModelDsl"u8.ToArray()));
        // Every parameter's values are in the file as raw little-endian floats.
        foreach (var p in parameters)
            Assert.True(Contains(bytes, System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.Value.AsSpan()).ToArray()), p.Name);
    }

    [Fact]
    public void A_missing_weights_file_is_one_line_and_exit_1()
    {
        var (exit, _, stderr) = CliRunner.Run("export-onnx", _model, "--weights", Path.Combine(_folder, "nope.ckpt"), "--out", Path.Combine(_folder, "m.onnx"));
        Assert.Equal(1, exit);
        Assert.Equal("modeldsl: error: weights file not found: " + Path.Combine(_folder, "nope.ckpt"), stderr.Trim());
    }

    [Fact]
    public void A_missing_model_file_is_exit_1()
    {
        var (exit, _, stderr) = CliRunner.Run("export-onnx", Path.Combine(_folder, "nope.model"), "--weights", "w", "--out", "o");
        Assert.Equal(1, exit);
        Assert.StartsWith("modeldsl: error: file not found:", stderr);
    }

    [Fact]
    public void Weights_of_the_wrong_shape_are_one_line_and_exit_1_and_nothing_is_written()
    {
        string weights = Path.Combine(_folder, "wrong.ckpt");
        Checkpoint.Save(weights, "BinaryClassifier", Parameters(shrinkLast: 1), 0);
        string output = Path.Combine(_folder, "m.onnx");
        var (exit, _, stderr) = CliRunner.Run("export-onnx", _model, "--weights", weights, "--out", output);
        Assert.Equal(1, exit);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("modeldsl: error: ", stderr);
        Assert.Contains("shape", stderr);
        Assert.DoesNotContain(" at ", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Missing_arguments_are_usage_errors()
    {
        var (exit, _, stderr) = CliRunner.Run("export-onnx", _model);
        Assert.Equal(2, exit);
        Assert.Contains("usage: modeldsl export-onnx", stderr);
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
