using System;
using System.Linq;
using ModelDsl.Dsl.Tests.Binding;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;

namespace ModelDsl.Dsl.Tests.Emit
{
    public class OnnxLoweringTests
    {
        private static ModelGraph Check(string text)
        {
            var result = Compilation.Compile("test.model", text);
            Assert.True(!result.HasErrors, string.Join("\n", result.Diagnostics.Select(d => d.Format(result.Text))));
            return Assert.Single(result.Models);
        }

        [Fact]
        public void FashionMlp_lowers_to_gemm_and_relu_with_dropout_omitted()
        {
            var graph = OnnxLowering.Lower(ExampleModelTests.CheckExample("examples/FashionMnist/fashion_mlp.model"));
            Assert.Equal(20, graph.Opset);
            Assert.Equal(new[] { "Gemm", "Relu", "Gemm", "Relu", "Gemm" }, graph.Nodes.Select(n => n.OpType));
            Assert.All(graph.Nodes.Where(n => n.OpType == "Gemm"), n => Assert.Equal(1, n.Attributes.Single(a => a.Name == "transB").Integer));
            // The second Gemm reads the first Relu's output directly: the dropout between them is gone.
            Assert.Equal(graph.Nodes[1].Outputs[0], graph.Nodes[2].Inputs[0]);
            Assert.Equal(new[] { "logits.0.weight", "logits.0.bias", "logits.3.weight", "logits.3.bias", "logits.6.weight", "logits.6.bias" }.OrderBy(n => n),
                graph.Initializers.Select(i => i.Name).OrderBy(n => n));
            Assert.Equal(new long[] { 256, 784 }, graph.Initializers.Single(i => i.Name == "logits.0.weight").Shape);

            string text = graph.Serialize();
            Assert.StartsWith("modeldsl-onnx 1;opset 20;graph FashionMlp;input x f32 B,784;output logits f32 B,10;", text);
            Assert.Contains(";node Gemm x,logits.0.weight,logits.0.bias ", text);
            Assert.DoesNotContain("\n", text);
            Assert.Equal(text, OnnxLowering.Lower(ExampleModelTests.CheckExample("examples/FashionMnist/fashion_mlp.model")).Serialize());
        }

        [Fact]
        public void Activations_map_to_their_onnx_ops()
        {
            var graph = OnnxLowering.Lower(Check(@"
model M {
    input x: f32[B, 4]
    a = x -> dense(4) -> gelu
    b = a -> silu -> tanh -> sigmoid
    c = a + b
    d = (a * c) -> gelu(approximate=""tanh"")
    output d
}"));
            Assert.Equal(new[] { "Gemm", "Gelu", "Sigmoid", "Mul", "Tanh", "Sigmoid", "Add", "Mul", "Gelu" }, graph.Nodes.Select(n => n.OpType));
            // opset 20's Gelu: the exact form is approximate="none" (its default, written out), the tanh form "tanh"
            Assert.Equal("none", graph.Nodes[1].Attributes.Single(a => a.Name == "approximate").Text);
            Assert.Equal("tanh", graph.Nodes[8].Attributes.Single(a => a.Name == "approximate").Text);
            // silu(x) = x · sigmoid(x)
            var silu = graph.Nodes[3];
            Assert.Equal(new[] { graph.Nodes[1].Outputs[0], graph.Nodes[2].Outputs[0] }, silu.Inputs);
            Assert.StartsWith("d", graph.Outputs.Single().Name);
            Assert.Equal(graph.Nodes.Last().Outputs[0], graph.Outputs.Single().Name);
        }

        [Fact]
        public void Structure_ops_lower_with_symbolic_dims_kept()
        {
            var graph = OnnxLowering.Lower(Check(@"
model M {
    input x: f32[B, T, 8]
    h = x -> layer_norm -> dense(8, bias=false)
    g = concat(h, x, axis=-1) -> softmax
    f = g -> flatten
    r = f -> reshape([B, T, 16]) -> dense(3)
    output r
}"));
            Assert.Equal(new[] { "B", "T", "8" }, graph.Inputs.Single().Dims);
            Assert.Equal(new[] { "B", "T", "3" }, graph.Outputs.Single().Dims);
            var ops = graph.Nodes.Select(n => n.OpType).ToList();
            Assert.Equal(new[] { "LayerNormalization", "Transpose", "MatMul", "Concat", "Softmax", "Constant", "Reshape", "Constant", "Reshape", "Transpose", "MatMul", "Add" }, ops);
            var norm = graph.Nodes[0];
            Assert.Equal(-1, norm.Attributes.Single(a => a.Name == "axis").Integer);
            Assert.Equal(1e-5f, norm.Attributes.Single(a => a.Name == "epsilon").Real);
            Assert.Equal(new long[] { 1, 0 }, graph.Nodes[1].Attributes.Single().Integers);
            Assert.Equal(2, graph.Nodes[3].Attributes.Single().Integer);   // concat axis, normalised
            Assert.Equal(2, graph.Nodes[4].Attributes.Single().Integer);   // softmax axis
            Assert.Equal(new long[] { 0, -1 }, graph.Nodes[5].Attributes.Single().Integers);        // flatten(start=1)
            Assert.Equal(new long[] { 0, -1, 16 }, graph.Nodes[7].Attributes.Single().Integers);    // reshape([B, T*16] → [B, T, 16]): B kept, T inferred
        }

        [Fact]
        public void A_model_outputting_its_input_through_dropout_gets_an_identity()
        {
            var graph = OnnxLowering.Lower(Check(@"
model M {
    input x: f32[B, 4]
    y = x -> dropout(0.5)
    output y
}"));
            var node = Assert.Single(graph.Nodes);
            Assert.Equal("Identity", node.OpType);
            Assert.Equal(new[] { "x" }, node.Inputs);
            Assert.NotEqual("x", graph.Outputs.Single().Name);
        }

        [Fact]
        public void FashionCnn_lowers_to_conv_pooling_and_a_reshape()
        {
            var graph = OnnxLowering.Lower(ExampleModelTests.CheckExample("examples/FashionMnist/fashion_cnn.model"));
            Assert.Equal(new[] { "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Constant", "Reshape", "Gemm", "Relu", "Gemm" }, graph.Nodes.Select(n => n.OpType));
            var conv = graph.Nodes[3];
            Assert.Equal(new[] { "features.2", "features.3.weight", "features.3.bias" }, conv.Inputs);
            Assert.Equal(new long[] { 3, 3 }, conv.Attributes.Single(a => a.Name == "kernel_shape").Integers);
            Assert.Equal(new long[] { 1, 1, 1, 1 }, conv.Attributes.Single(a => a.Name == "pads").Integers);
            Assert.Equal(new long[] { 2, 2 }, graph.Nodes[2].Attributes.Single(a => a.Name == "strides").Integers);
            Assert.Equal(new long[] { 64, 32, 3, 3 }, graph.Initializers.Single(i => i.Name == "features.3.weight").Shape);
        }

        [Fact]
        public void Lstm_lowers_to_onnx_lstm_with_its_weights_reordered_in_the_graph()
        {
            var graph = OnnxLowering.Lower(ExampleModelTests.CheckExample("examples/TextLstm/fortune_lstm.model"));
            var lstm = Assert.Single(graph.Nodes, n => n.OpType == "LSTM");
            Assert.Equal(128, lstm.Attributes.Single(a => a.Name == "hidden_size").Integer);
            Assert.Equal(2, lstm.Outputs.Count); // Y and Y_h; lstm(hidden) without return_sequences reads Y_h
            Assert.Contains(graph.Nodes, n => n.OpType == "Squeeze" && n.Inputs[0] == lstm.Outputs[1]);
            // The initializers keep PyTorch's [4h, in] i, f, g, o layout; the graph gathers the gate blocks as ONNX's i, o, f, c.
            Assert.Equal(new long[] { 512, 64 }, graph.Initializers.Single(i => i.Name.EndsWith("weight_ih", StringComparison.Ordinal)).Shape);
            var order = graph.Nodes.Single(n => n.OpType == "Constant" && n.Outputs[0].EndsWith("/iofc", StringComparison.Ordinal));
            Assert.Equal(new long[] { 0, 3, 1, 2 }, order.Attributes.Single().Integers);
            Assert.Equal(4, graph.Nodes.Count(n => n.OpType == "Gather" && n.Inputs[1] == order.Outputs[0])); // W, R and both biases
            Assert.Equal(new long[] { 1, 512, 64 }, graph.Nodes.Single(n => n.OpType == "Constant" && n.Outputs[0].EndsWith("/W_shape", StringComparison.Ordinal)).Attributes.Single().Integers);
        }

        [Fact]
        public void Attention_lowers_to_matmuls_and_a_softmax_with_the_causal_mask()
        {
            var graph = OnnxLowering.Lower(ExampleModelTests.CheckExample("examples/CharGpt/char_gpt.model"));
            Assert.Equal(4, graph.Nodes.Count(n => n.OpType == "Softmax"));
            Assert.Equal(4, graph.Nodes.Count(n => n.OpType == "Where")); // causal=true in each of the 4 blocks
            Assert.Equal(4, graph.Nodes.Count(n => n.OpType == "Range"));
            Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Attention");
        }

        [Fact]
        public void Names_are_escaped_so_they_never_contain_a_separator()
        {
            Assert.Equal("a%20b%3Bc%2Cd%25e%2D", OnnxGraphDescription.Escape("a b;c,d%e-"));
            Assert.Equal("logits.0.weight", OnnxGraphDescription.Escape("logits.0.weight"));
            Assert.Equal("%C3%A9", OnnxGraphDescription.Escape("é"));
        }
    }
}
