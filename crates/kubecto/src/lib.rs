//! kubecto: the facade over the layers.
