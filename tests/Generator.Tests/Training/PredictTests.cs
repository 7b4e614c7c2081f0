using System;
using System.Linq;
using ModelDsl.Runtime;

namespace ModelDsl.Generator.Tests.Training;

public sealed class PredictTests
{
    [Fact]
    public void Predict_is_the_argmax_of_forward_for_a_cross_entropy_classifier()
    {
        var model = GeneratedModel.CompileExample("examples/FashionMnist/fashion_mlp.model", "FashionMlp");
        var x = GradientChecker.RandomTensor(new Random(9), 16, 784);
        var logits = ((Tensor)model.Call("Forward", x)).Span.ToArray();
        var predicted = (IntTensor)model.Call("Predict", x);

        Assert.Equal([16], predicted.Shape);
        var expected = Enumerable.Range(0, 16).Select(r => Array.IndexOf(logits, logits.Skip(r * 10).Take(10).Max(), r * 10) - r * 10).ToArray();
        Assert.Equal(expected, predicted.Span.ToArray());
        Assert.True(expected.Distinct().Count() > 1, "random inputs should not all map to one class");
    }

    [Fact]
    public void Models_whose_output_is_not_cross_entropy_logits_have_no_predict()
    {
        var model = GeneratedModel.CompileExample("examples/BinaryClassifier/binary_classifier.model", "BinaryClassifier");
        Assert.Null(model.Method("Predict"));
    }
}
