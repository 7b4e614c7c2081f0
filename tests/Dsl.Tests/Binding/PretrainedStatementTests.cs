using System.Linq;
using ModelDsl.Dsl.Tests.Support;
using ModelDsl.IR;

namespace ModelDsl.Dsl.Tests.Binding
{
    /// <summary><c>pretrained "file" { target &lt;- source }</c>: parsing, captures, the resolved map, diagnostics.</summary>
    public class PretrainedStatementTests
    {
        private const string Bert = @"config {
    d = 8
}
block Layer(x, d) {
    attn = x -> attention(2)
    h = x + attn -> layer_norm(eps=1e-12)
    ff = h -> dense(16) -> gelu -> dense(d)
    return h + ff -> layer_norm(eps=1e-12)
}
model Enc {
    input ids: i32[B, T]
    label y: i32[B]
    tok = embedding(ids, 50, d)
    hidden = tok -> repeat 2 Layer(d)
    cls = hidden -> select(axis=1, index=0)
    head = cls -> dense(3)
    output head
    loss cross_entropy(head, y)
    optimizer adamw(lr=2e-5)
";

        private static ModelGraph Check(string pretrained) => ShapeInferenceTests.Check(Bert + pretrained + "}\n");

        private const string Map = @"    pretrained ""minilm.safetensors"" {
        tok.weight <- embeddings.word_embeddings.weight
        hidden.{i}.attn.in_proj_{kind} <- concat(encoder.layer.{i}.attention.self.query.{kind}, encoder.layer.{i}.attention.self.key.{kind}, encoder.layer.{i}.attention.self.value.{kind})
        hidden.{i}.attn.out_proj.{kind} <- encoder.layer.{i}.attention.output.dense.{kind}
        hidden.{i}.ff.0.weight <- transpose(encoder.layer.{i}.intermediate.dense.weight_t)
    }
";

        [Fact]
        public void Captures_fill_sources_and_unnamed_parameters_read_their_own_name()
        {
            var g = Check(Map);
            var p = g.Pretrained!;
            Assert.Equal("minilm.safetensors", p.File);
            Assert.Equal(g.Parameters.Select(x => x.Name), p.Entries.Select(e => e.Parameter.Name));
            var byName = p.Entries.ToDictionary(e => e.Parameter.Name);
            Assert.Equal("embeddings.word_embeddings.weight", byName["tok.weight"].Source.ToString());
            Assert.Equal("concat(encoder.layer.1.attention.self.query.bias, encoder.layer.1.attention.self.key.bias, encoder.layer.1.attention.self.value.bias, axis=0)",
                byName["hidden.1.attn.in_proj_bias"].Source.ToString());
            Assert.Equal("encoder.layer.0.attention.output.dense.weight", byName["hidden.0.attn.out_proj.weight"].Source.ToString());
            Assert.Equal("transpose(encoder.layer.1.intermediate.dense.weight_t)", byName["hidden.1.ff.0.weight"].Source.ToString());
            Assert.Equal(new MapTensor("head.weight"), byName["head.weight"].Source); // the new head: by its own name, missing at load
            Assert.Null(byName["head.weight"].Span);
            Assert.NotNull(byName["tok.weight"].Span);
        }

        [Fact]
        public void A_file_alone_or_a_map_alone_and_pretrained_as_a_name()
        {
            Assert.Equal("w.safetensors", Check("    pretrained \"w.safetensors\"\n").Pretrained!.File);
            var runtimeFile = Check("    pretrained {\n        tok.weight <- emb\n    }\n").Pretrained!;
            Assert.Null(runtimeFile.File);
            Assert.Equal("emb", runtimeFile.Entries.First(e => e.Parameter.Name == "tok.weight").Source.ToString());
            var g = ShapeInferenceTests.Check("model M {\n    input x: f32[B, 4]\n    pretrained = x -> dense(3)\n    output pretrained\n}");
            Assert.Null(g.Pretrained);
        }

        [Fact]
        public void MDL0122_target_matching_nothing()
        {
            var d = AnnotatedText.AssertDiagnostics(Bert + "    pretrained \"w\" {\n        ⟦tok.wieght⟧ <- a\n        ⟦hidden.{i}.query.weight⟧ <- b\n    }\n}\n", "MDL0122", "MDL0122");
            Assert.Contains("pretrained pattern 'tok.wieght' matches no parameter of model 'Enc'; did you mean 'tok.weight'?", d[0].Message);
        }

        [Fact]
        public void MDL0216_a_parameter_mapped_twice()
        {
            var d = AnnotatedText.AssertDiagnostics(Bert + "    pretrained \"w\" {\n        hidden.{i}.attn.out_proj.weight <- a.{i}\n        ⟦hidden.1.attn.out_proj.weight⟧ <- b\n    }\n}\n", "MDL0216");
            Assert.Contains("'hidden.1.attn.out_proj.weight' already has a source (line 21)", d[0].Message);
        }

        [Fact]
        public void MDL0217_bad_sources()
        {
            var d = AnnotatedText.AssertDiagnostics(Bert + "    pretrained \"w\" {\n" +
                "        tok.weight <- ⟦layer.{j}.weight⟧\n" +
                "        head.weight <- ⟦stack⟧(a, b)\n" +
                "        head.bias <- ⟦transpose(a, b)⟧\n" +
                "        hidden.0.weight <- ⟦concat(a)⟧\n" +
                "        ⟦hidden.{i}.{i}.bias⟧ <- a\n" +
                "        hidden.1.weight <- concat(a, b, axis=⟦1.5⟧)\n" +
                "    }\n}\n",
                "MDL0217", "MDL0217", "MDL0217", "MDL0217", "MDL0217", "MDL0217");
            Assert.Contains("'layer.{j}.weight' uses {j}, which its target does not capture (the target has none)", d[0].Message);
            Assert.Contains("'stack' is not a map function; use transpose(a) or concat(a, b, ..., axis=0)", d[1].Message);
        }

        [Fact]
        public void MDL0321_sources_that_cannot_have_the_parameters_rank()
        {
            var d = AnnotatedText.AssertDiagnostics(Bert + "    pretrained \"w\" {\n        head.bias <- ⟦transpose(a)⟧\n        tok.weight <- concat(a, b, axis=⟦2⟧)\n    }\n}\n", "MDL0321", "MDL0321");
            Assert.Contains("transpose makes a 2-D tensor, but 'head.bias' is [3]", d[0].Message);
            Assert.Contains("concat along axis 2 needs a tensor of rank 3 or more, but 'tok.weight' is [50, 8]", d[1].Message);
        }

        [Fact]
        public void MDL0204_and_MDL0210_twice_or_in_a_block()
        {
            AnnotatedText.AssertDiagnostics(Bert + "    pretrained \"a\"\n    ⟦pretrained \"b\"⟧\n}\n", "MDL0204");
            AnnotatedText.AssertDiagnostics("block L(x) {\n    ⟦pretrained \"a\"⟧\n    return x -> dense(2)\n}\nmodel M {\n    input x: f32[B, 4]\n    label y: f32[B, 2]\n    out = x -> L\n    output out\n    loss mse(out, y)\n    optimizer sgd(lr=0.1)\n}", "MDL0210");
        }

        [Fact]
        public void A_syntax_error_inside_the_map_is_one_error_and_the_model_still_binds()
        {
            // Recovery skips the broken statement to its own closing brace: no stray '}' error, and the loss after it is still checked.
            AnnotatedText.AssertDiagnostics(Bert + "    pretrained \"w\" {\n        tok.weight <- concat(a, b, axis=⟦-⟧1)\n    }\n    init ⟦hed.weight⟧ zeros\n}\n", "MDL0001", "MDL0122");
        }
    }
}
