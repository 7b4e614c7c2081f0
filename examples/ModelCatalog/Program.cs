using System;
using ModelDsl.Runtime;

namespace ModelDsl.Examples;

/// <summary>
/// Prints the description of every example model. Each class below (<c>FashionMlp</c>, <c>CharGpt</c>, ...) is
/// generated at build time from a .model file under examples/; a mistake in one fails this build with an
/// MDLxxxx error located in that file.
/// </summary>
public static class Program
{
    public static int Main()
    {
        ModelDescription[] models =
        [
            BinaryClassifier.Description,
            CharGpt.Description,
            FashionCnn.Description,
            FashionMlp.Description,
            FortuneLstm.Description,
        ];

        foreach (ModelDescription model in models)
        {
            Console.WriteLine(model.Summary());
        }

        return 0;
    }
}
